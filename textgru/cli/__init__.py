"""The `textgru` command: one module per command, each a thin caller of the
library's public API over the task interface (`textgru.tasks.Task`, a run's
or an export's `head`), with no question of what kind of run it holds.

    textgru train classify --dataset rotten_tomatoes --out runs/rt
    textgru evaluate runs/rt
    textgru predict runs/rt "A gem of a film." "A dull mess."
    textgru export runs/rt --out exports/rt
    textgru serve exports/rt --port 8000
    textgru predict exports/rt --input reviews.csv --output labelled.csv
    textgru gates exports/rt "not bad at all" --out gates.png
    textgru train lm --dataset shakespeare --out runs/lm
    textgru train classify --from-lm runs/rt-lm --out runs/rt-transfer
    textgru generate runs/lm --prompt "ROMEO:" --temperature 0.8 --seed 1
    textgru datasets
    textgru demo
    textgru launch --num-processes 2 -- train classify --distribute multi-host

main      the parser of every command, and errors as one line (exit code 2)
flags     flags from config dataclasses, the trust switch, reading texts
train, evaluate, predict, export, serve, generate, gates, datasets,
launch, demo: one command each (`add_to`, `needs_backend`, `run`)

The flags of `textgru train TASK` are generated from the task's config
dataclass; the tasks are those of `textgru.tasks.TASKS`. A problem the user
can fix prints one line, `textgru: error: ...`, and exits with code 2.
"""

from textgru.cli.flags import add_config_flags, config_from_args
from textgru.cli.main import build_parser, main

__all__ = ["add_config_flags", "build_parser", "config_from_args", "main"]
