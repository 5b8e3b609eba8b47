"""Generation speed of a GRU language model on the current Keras backend.

Times `textgru.models.generate` (one step per new token, the GRU state
carried) for one stream and for a batch of streams, and, for comparison, the
naive way that re-runs the model over the whole prefix for every new token.
By default the model is the default character recipe's shape
(`LanguageModelConfig`: embed 64, one GRU of 512 units) with fresh weights
and the [EOS] logit pushed down, so every stream runs to the full length;
`--run RUN_DIR` times a trained run instead.

    python benchmarks/generation_speed.py
    python benchmarks/generation_speed.py --run runs/lm --tokens 500
"""

import argparse
import json
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from textgru.data import train_tokenizer  # noqa: E402
from textgru.models import build_language_model, generate  # noqa: E402
from textgru.tasks import LanguageModelConfig  # noqa: E402
from textgru.tasks.language_modeling import LanguageModelRun  # noqa: E402


def fresh_model(config):
    text = "".join(chr(c) for c in range(32, 127)) + "\n"
    tokenizer = train_tokenizer([text], kind="char")
    model = build_language_model(
        tokenizer.vocab_size, embed_dim=config.embed_dim, units=config.units,
        num_layers=config.num_layers,
    )  # fmt: skip
    head = model.get_layer("logits")
    kernel, bias = head.get_weights()
    bias[tokenizer.eos_id] = -1e9  # never end early: time full-length streams
    head.set_weights([kernel, bias])
    return model, tokenizer


def timed_generate(model, tokenizer, tokens, streams):
    generate(model, tokenizer, "The ", max_new_tokens=5, num_samples=streams, seed=0)
    start = time.perf_counter()
    texts = generate(
        model, tokenizer, "The ", max_new_tokens=tokens, num_samples=streams, seed=0
    )
    seconds = time.perf_counter() - start
    texts = [texts] if isinstance(texts, str) else texts
    return sum(len(t) for t in texts) / seconds


def naive_chars_per_second(model, tokenizer, tokens):
    """Re-run the whole prefix for each new token (greedy), as a baseline."""
    ids = tokenizer.encode("The ")
    start = time.perf_counter()
    for _ in range(tokens):
        logits = model.predict_on_batch(np.array([ids], dtype="int32"))
        ids.append(int(np.argmax(logits[0, -1])))
    return tokens / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", help="a trained LM run directory")
    parser.add_argument("--tokens", type=int, default=300, help="new tokens per stream")
    parser.add_argument("--batch", type=int, default=32, help="streams in the batch")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.run:
        run = LanguageModelRun.load(args.run)
        model, tokenizer = run.model, run.tokenizer
        if run.config.stateful:  # fixed batch size: copy into a free-batch model
            free = build_language_model(
                tokenizer.vocab_size, embed_dim=run.config.embed_dim,
                units=run.config.units, num_layers=run.config.num_layers,
                tie_embeddings=run.config.tie_embeddings,
                reset_after=run.config.reset_after,
            )  # fmt: skip
            free.set_weights(model.get_weights())
            model = free
    else:
        model, tokenizer = fresh_model(LanguageModelConfig())
    result = {
        "backend": keras.backend.backend(),
        "tokens_per_stream": args.tokens,
        "one_stream_chars_per_s": round(
            timed_generate(model, tokenizer, args.tokens, 1)
        ),
        f"batch_{args.batch}_chars_per_s": round(
            timed_generate(model, tokenizer, args.tokens, args.batch)
        ),
        "naive_one_stream_chars_per_s": round(
            naive_chars_per_second(model, tokenizer, args.tokens)
        ),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    for key, value in result.items():
        print(f"{key:32} {value}")


if __name__ == "__main__":
    main()
