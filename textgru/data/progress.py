"""Silence `datasets`' progress bars for the quick internal steps textgru runs."""

import contextlib

from datasets.utils import (
    are_progress_bars_disabled,
    disable_progress_bars,
    enable_progress_bars,
)


@contextlib.contextmanager
def quiet():
    """Hide `datasets` progress bars inside the block, then restore the setting."""
    was_disabled = are_progress_bars_disabled()
    disable_progress_bars()
    try:
        yield
    finally:
        if not was_disabled:
            enable_progress_bars()
