"""`python -m textgru.cli ...`: the `textgru` command."""

import sys

from textgru.cli.main import main

sys.exit(main())
