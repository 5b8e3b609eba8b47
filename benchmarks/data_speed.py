"""Speed of the input pipeline against the GRU model that consumes it.

For the rotten_tomatoes train split (word tokenizer, the classification
pipeline with shuffling and length bucketing) and the Shakespeare train works
(character tokenizer, the language-model pipeline) this measures:

- training the tokenizer;
- tokenizing (texts/s and tokens/s, the Rust batch path through `Dataset.map`);
- building the tf.data pipeline (once per run) and reading whole epochs of
  batches inside the TensorFlow runtime, as `fit` reads them (the rate is
  that of the second epoch; the first, with tracing, is reported too);
- training steps of a GRU model on the same batches (textgru.GRU(256), or
  `--units`; Adam, float32, current Keras backend), after a warm-up;

and prints how many times faster the pipeline delivers batches than the model
consumes them (the target is at least 20x). Needs the built-in datasets
(downloaded and cached on first use).

    python benchmarks/data_speed.py
    python benchmarks/data_speed.py --model-steps 5 --json
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402

import textgru  # noqa: E402
from textgru import data  # noqa: E402


def timed(function):
    start = time.perf_counter()
    result = function()
    return result, time.perf_counter() - start


def epoch(pipeline):
    """Read one epoch inside the TensorFlow runtime, as `fit` reads it."""
    import tensorflow as tf

    def count(totals, batch):
        return totals + tf.stack([1, tf.math.count_nonzero(batch[0])])

    batches, tokens = pipeline.reduce(tf.zeros(2, tf.int64), count).numpy()
    return int(batches), int(tokens)


def model_batches_per_second(model, pipeline, steps):
    warmup = 5  # tracing (batch widths vary) and the first steps
    batches = list(pipeline.repeat().take(steps + warmup))
    for x, y in batches[:warmup]:
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for x, y in batches[warmup:]:
        model.train_on_batch(x, y)
    return steps / (time.perf_counter() - start)


def measure(name, split, tokenizer_kind, make_pipeline, make_model, steps):
    tokenizer, train_s = timed(lambda: data.train_tokenizer(split, kind=tokenizer_kind))
    (values, _), encode_s = timed(lambda: data.encode(split, tokenizer))
    pipeline, build_s = timed(lambda: make_pipeline(split, tokenizer))
    (batches, _), first_epoch_s = timed(lambda: epoch(pipeline))
    _, epoch_s = timed(lambda: epoch(pipeline))
    model = make_model(tokenizer.vocab_size)
    model_rate = model_batches_per_second(model, pipeline, steps)
    pipeline_rate = batches / epoch_s
    return {
        "dataset": name,
        "texts": len(split),
        "tokens": int(len(values)),
        "tokenizer_train_s": round(train_s, 3),
        "tokenize_texts_per_s": round(len(split) / encode_s),
        "tokenize_tokens_per_s": round(len(values) / encode_s),
        "pipeline_build_s": round(build_s, 3),
        "pipeline_first_epoch_s": round(first_epoch_s, 3),
        "pipeline_epoch_s": round(epoch_s, 3),
        "pipeline_batches_per_s": round(pipeline_rate, 1),
        "model_batches_per_s": round(model_rate, 2),
        "pipeline_over_model": round(pipeline_rate / model_rate, 1),
        "batches_per_epoch": batches,
    }


def classifier(vocab_size, units):
    model = keras.Sequential(
        [
            keras.layers.Embedding(vocab_size, 128, mask_zero=True),
            textgru.GRU(units),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy")
    return model


def language_model(vocab_size, units):
    model = keras.Sequential(
        [
            keras.layers.Embedding(vocab_size, 64),
            textgru.GRU(units, return_sequences=True),
            keras.layers.Dense(vocab_size),
        ]
    )
    model.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100, help="LM window")
    parser.add_argument("--model-steps", type=int, default=30)
    parser.add_argument("--units", type=int, default=256, help="the models' GRU")
    parser.add_argument("--json", action="store_true", help="print JSON only")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)

    rows = [
        measure(
            "rotten_tomatoes (train)",
            data.load_dataset("rotten_tomatoes")["train"],
            "word",
            lambda split, tok: data.classification_dataset(
                split, tok, batch_size=args.batch, shuffle=True, bucket_by_length=True
            ),
            lambda vocab_size: classifier(vocab_size, args.units),
            args.model_steps,
        ),
        measure(
            "shakespeare (train)",
            data.load_dataset("shakespeare")["train"],
            "char",
            lambda split, tok: data.language_model_dataset(
                split, tok, seq_len=args.seq_len, batch_size=args.batch, shuffle=True
            ),
            lambda vocab_size: language_model(vocab_size, args.units),
            args.model_steps,
        ),
    ]
    if args.json:
        print(json.dumps({"backend": keras.backend.backend(), "rows": rows}, indent=2))
        return
    print(f"backend: {keras.backend.backend()}, batch {args.batch}, GRU({args.units})")
    header = (
        "dataset", "texts", "tokens", "tok. train s", "texts/s", "tokens/s",
        "batches/s (pipeline)", "batches/s (model)", "pipeline / model",
    )  # fmt: skip
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for r in rows:
        cells = (
            r["dataset"], r["texts"], r["tokens"], r["tokenizer_train_s"],
            r["tokenize_texts_per_s"], r["tokenize_tokens_per_s"],
            r["pipeline_batches_per_s"], r["model_batches_per_s"],
            f"{r['pipeline_over_model']}x",
        )  # fmt: skip
        print("| " + " | ".join(str(c) for c in cells) + " |")


if __name__ == "__main__":
    main()
