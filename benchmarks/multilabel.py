"""Multi-label classification: the `textgru train multilabel` recipe with
each label's threshold tuned on validation against 0.5 for every label, on a
generated set (no multi-label text set ships in a package these machines
can install) or on a file of your own.

The generated set: `--texts` texts of a few everyday words, each with 0 to 3
of 8 topics whose frequencies fall from about 40% to 3%; a topic shows in a
text by two of its own words, most of which it shares with one other topic,
and 1 text in 5 also holds a word of a topic it does not have. Each run
trains once per seed and is scored on the test split twice, with its tuned
thresholds and with 0.5 for every label; prints micro- and macro-F1, subset
accuracy and Hamming loss (mean ± standard deviation over the seeds).

    python benchmarks/multilabel.py                         # generated, 3 seeds
    python benchmarks/multilabel.py --dataset tags.csv --seeds 0 1
"""

import argparse
import csv
import json
import os
import statistics
import tempfile
import time

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from textgru.tasks import MultiLabelConfig, train_multi_label  # noqa: E402
from textgru.training.config import parse_overrides  # noqa: E402

FILLER = "the a of and to in it is was for on with as this that at by".split()
TOPICS = ["sport", "money", "weather", "health", "music", "travel", "food", "law"]
MEASURES = ("micro_f1", "macro_f1", "subset_accuracy", "hamming_loss")


def generate(path, texts, seed=0):
    """The generated set described above, as a text,labels CSV at `path`."""
    rng = np.random.default_rng(seed)
    # Each topic's words: 3 of its own, 3 shared with the next topic.
    words = {t: [f"{t}{i}" for i in range(3)] for t in TOPICS}
    for i, topic in enumerate(TOPICS):
        shared = [f"{topic}-{TOPICS[(i + 1) % len(TOPICS)]}{k}" for k in range(3)]
        words[topic] += shared
        words[TOPICS[(i + 1) % len(TOPICS)]] += shared
    frequency = np.geomspace(0.4, 0.03, len(TOPICS))
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(["text", "labels"])
        for row in range(texts):
            chosen = [
                t for t, p in zip(TOPICS, frequency, strict=True) if rng.random() < p
            ]
            chosen = chosen[:3]
            tokens = list(rng.choice(FILLER, size=rng.integers(4, 9)))
            for topic in chosen:
                tokens += list(rng.choice(words[topic], size=2))
            if rng.random() < 0.2:  # a word of a topic the text does not have
                tokens.append(rng.choice(words[rng.choice(TOPICS)]))
            rng.shuffle(tokens)
            writer.writerow([" ".join(tokens) + f" n{row}", json.dumps(chosen)])
    return str(path)


def _summary(values):
    return [statistics.mean(values), statistics.pstdev(values)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", help="your file (default: the generated set)")
    parser.add_argument("--texts", type=int, default=3000, help="generated texts")
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument(
        "--set", nargs="*", default=[], help="FIELD=JSON changes to the recipe"
    )
    args = parser.parse_args(argv)
    overrides = parse_overrides(args.set)
    rows = {"tuned": [], "0.5": []}
    thresholds, seconds = [], []
    with tempfile.TemporaryDirectory() as workdir:
        dataset = args.dataset or generate(f"{workdir}/generated.csv", args.texts)
        for seed in args.seeds:
            start = time.perf_counter()
            config = MultiLabelConfig(
                dataset=dataset, seed=seed, out=f"{workdir}/run-{seed}", **overrides
            )
            run = train_multi_label(config, verbose=0)
            seconds.append(time.perf_counter() - start)
            tuned = run.metrics["test"]
            chosen = zip(run.label_names, map(float, run.thresholds), strict=True)
            thresholds.append(dict(chosen))
            run.thresholds = np.full(len(run.label_names), 0.5)
            fixed = run.evaluate()
            for name, report in (("tuned", tuned), ("0.5", fixed)):
                rows[name].append({m: report[m] for m in MEASURES})
    results = [
        {
            "thresholds": name,
            **{m: _summary([r[m] for r in found]) for m in MEASURES},
            "seeds": list(args.seeds),
        }
        for name, found in rows.items()
    ]
    print("| thresholds | micro-F1 | macro-F1 | subset accuracy | Hamming loss |")
    print("|---|---|---|---|---|")
    for result in results:
        cells = [f"{mean:.3f} ± {sd:.3f}" for mean, sd in (result[m] for m in MEASURES)]
        print(f"| {result['thresholds']} | " + " | ".join(cells) + " |")
    print(f"seconds per run: {statistics.mean(seconds):.0f}")
    for seed, chosen in zip(args.seeds, thresholds, strict=True):
        print(
            f"seed {seed} thresholds: "
            + ", ".join(f"{k} {v:.2f}" for k, v in chosen.items())
        )
    if args.json:
        with open(args.json, "w") as file:
            json.dump({"results": results, "thresholds": thresholds}, file, indent=2)
    return results


if __name__ == "__main__":
    main()
