"""Transfer (ULMFiT-style): a classifier that starts from a language model.

    python recipes/transfer.py                      # rotten_tomatoes -> runs/transfer
    python recipes/transfer.py --dataset trec --out runs/trec-transfer

Three steps, each a run directory:
1. the general pretrained language model (`textgru.tasks.transfer.pretraining_config`,
   on the built-in unlabelled corpora), trained once (about 28 min on 2 CPU
   cores) and cached under the data home; later runs reuse it;
2. that model fine-tuned on the task's own training texts
   (`lm_fine_tuning_config`; the run `<out>-lm`);
3. the classifier from it (`TransferConfig`; the run `<out>`): gradual
   unfreezing, discriminative learning rates, slanted-triangular schedules.

Steps 2 and 3 are also `textgru train lm --from-lm pretrained ...` and
`textgru train classify --from-lm RUN_DIR ...`.
"""

import argparse
import sys

from textgru.errors import TextgruError
from textgru.tasks import TransferConfig, transfer
from textgru.tasks.classification import train_classifier
from textgru.tasks.language_modeling import train_language_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="rotten_tomatoes")
    parser.add_argument("--out", default="runs/transfer")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--overwrite", action="store_true")
    args = parser.parse_args(argv)
    shared = {"dataset": args.dataset, "seed": args.seed, "overwrite": args.overwrite}
    try:
        pretrained = transfer.pretrained_language_model()
        lm = train_language_model(
            transfer.lm_fine_tuning_config(
                from_lm=pretrained.path, out=f"{args.out}-lm", **shared
            )
        )
        run = train_classifier(
            TransferConfig(from_lm=str(lm.path), out=args.out, **shared)
        )
    except TextgruError as error:
        print(f"transfer: error: {error}", file=sys.stderr)
        return 2
    test = run.metrics["test"]
    print(
        f"test accuracy {test['accuracy']:.4f}, macro-F1 {test['macro_f1']:.4f} "
        f"({test['num_examples']} texts); runs written to {lm.path} and {run.path}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
