"""Language modelling end to end: train a run, measure held-out perplexity,
generate text.

    run = train_language_model(LanguageModelConfig(out="runs/lm"))
    run.metrics["test"]["bits_per_character"]
    LanguageModelRun.load("runs/lm").generate("ROMEO:", max_new_tokens=200, seed=1)
"""

import dataclasses
import math
from pathlib import Path

import keras

from textgru import distribute, plots, transfer
from textgru import run as run_files
from textgru.data import (
    Tokenizer,
    encode,
    language_model_dataset,
    load_dataset,
    parse_sources,
)
from textgru.inspect import gate_activations
from textgru.models import build_language_model, generate
from textgru.training import (
    LanguageModelConfig,
    close_run,
    fit_run,
    make_optimizer,
    open_run,
    total_steps,
)

TASK = "lm"
SAMPLE_TEMPERATURES = (0.7, 1.0)
GATE_TOKENS = 80  # the length of the line in the run's gates.png


def reset_states(model):
    """Zero the states of the stateful recurrent layers of `model`."""
    for layer in model.layers:
        if isinstance(layer, keras.layers.RNN) and layer.stateful:
            layer.reset_state()


class ResetStates(keras.callbacks.Callback):
    """Zero the states of stateful GRU layers at the start of every epoch and
    of every evaluation, so each pass reads its stream from the beginning."""

    def on_epoch_begin(self, epoch, logs=None):
        reset_states(self.model)

    def on_test_begin(self, logs=None):
        reset_states(self.model)


@dataclasses.dataclass
class LanguageModelRun(run_files.RunDirectory):
    """A trained language model with its tokenizer, config and metrics."""

    path: Path
    model: keras.Model
    tokenizer: Tokenizer
    config: LanguageModelConfig
    metrics: dict

    @classmethod
    def load(cls, path, allow_partial=False):
        """Read a finished run directory written by `train_language_model`
        (with `allow_partial`, also an unfinished `<out>.partial` one)."""
        info, model, tokenizer, metrics = run_files.load(path, TASK, allow_partial)
        return cls(
            path=Path(path),
            model=model,
            tokenizer=tokenizer,
            config=LanguageModelConfig.from_dict(info["config"]),
            metrics=metrics,
        )

    def generate(self, prompt="", **kwargs):
        """`textgru.models.generate` with this run's model and tokenizer."""
        return generate(self.model, self.tokenizer, prompt, **kwargs)


def language_model_metrics(model, split, tokenizer, config):
    """Held-out loss of `model` on `split`: nats per token, perplexity, and
    bits per character.

    Bits per character spread the loss over the characters the tokens stand
    for: nats/token x (tokens / characters) / ln 2, counting each text's
    `[BOS]`/`[EOS]` as tokens and its end as one character. For a character
    tokenizer it is the loss in bits, give or take those markers.
    """
    data = _windows(split, tokenizer, config, shuffle=False)
    reset_states(model)
    loss = float(model.evaluate(data, verbose=0, return_dict=True)["loss"])
    values, _ = encode(split, tokenizer, add_bos=True, add_eos=True)
    characters = sum(len(text) + 1 for text in split["text"])
    return {
        "loss_nats_per_token": loss,
        "perplexity": math.exp(loss),
        "bits_per_character": loss * len(values) / characters / math.log(2),
        "tokens": int(len(values)),
        "characters": int(characters),
    }


def _windows(split, tokenizer, config, shuffle, drop_remainder=False):
    return language_model_dataset(
        split,
        tokenizer,
        seq_len=config.seq_len,
        batch_size=config.batch_size,
        shuffle=shuffle and not config.stateful,
        seed=config.seed,
        consecutive=config.stateful,
        add_bos=True,
        add_eos=True,
        drop_remainder=drop_remainder,
    )


def _samples(model, tokenizer, config):
    if not config.samples:
        return "(no samples: the run was made with --samples 0)\n"
    passages = []
    for temperature in SAMPLE_TEMPERATURES:
        texts = generate(
            model,
            tokenizer,
            "",
            max_new_tokens=config.sample_length,
            temperature=temperature,
            seed=config.seed,
            num_samples=config.samples,
        )
        texts = [texts] if isinstance(texts, str) else texts
        for number, text in enumerate(texts, start=1):
            passages.append(
                f"=== temperature {temperature}, sample {number} ===\n{text}\n"
            )
    return "\n".join(passages)


@run_files.guarded
def train_language_model(config=None, *, callbacks=(), verbose="auto"):
    """Train a GRU language model as `config` says and write its run directory.

    Args:
        config: a `LanguageModelConfig` (default: a character model of
            `shakespeare`). With `from_lm`, training goes on from that run's
            weights and tokenizer, on `config.dataset`.
        callbacks: extra Keras callbacks for `fit`.
        verbose: Keras `fit` verbosity ("auto" shows the progress bar).

    Returns:
        A `LanguageModelRun` for the finished run directory `config.out` (of
        a multi-host run, on process 0; the other processes return None).
    """
    config = (config or LanguageModelConfig()).with_absolute_paths()
    distribution = distribute.setup(config)
    if distribution.num_processes == 1:
        # Refuse a run that cannot start before loading anything (several
        # processes check inside `open_run`, where the chief's error reaches
        # them all).
        run_files.check_start(
            config.out, resume=config.resume, overwrite=config.overwrite
        )
    keras.utils.set_random_seed(config.seed)
    parent = None
    if config.from_lm:
        parent = transfer.load_language_model(config.from_lm)
        config = transfer.inherit_architecture(config, parent.config)
    data = load_dataset(
        parse_sources(config.dataset),
        text_column=config.text_column,
        split_seed=config.split_seed,
    )
    info = transfer.lm_info(config, parent)
    work, resumed, tokenizer = open_run(
        config,
        TASK,
        data["train"],
        info,
        tokenizer=parent and parent.tokenizer,
        distribution=distribution,
    )
    train, validation = (
        distribution.shard(
            _windows(
                data[split],
                tokenizer,
                config,
                shuffle=split == "train",
                drop_remainder=distribution.distributed,
            )
        )
        for split in ("train", "validation")
    )
    with distribution.scope():
        model = _build(config, tokenizer)
        if parent is not None:
            model.set_weights(parent.model.get_weights())
        steps = total_steps(config, int(train.cardinality()))
        model.compile(
            optimizer=make_optimizer(config, steps),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
    extra = [ResetStates()] if config.stateful else []
    model, seconds, history = fit_run(
        model, train, validation, config, work, [*extra, *callbacks], verbose,
        distribution,
    )  # fmt: skip
    if model is None:  # another process of a distributed run: the chief reports
        distribution.finish(work)
        return None
    metrics = {
        "validation": language_model_metrics(
            model, data["validation"], tokenizer, config
        ),
        "test": language_model_metrics(model, data["test"], tokenizer, config),
        "num_parameters": int(model.count_params()),
        "train_seconds": round(seconds, 1),
        "optimizer_steps": int(model.optimizer.iterations.numpy()),
        "resumed": resumed,
        "epochs_run": len(history),
        "split_sizes": {name: len(split) for name, split in data.items()},
    }
    if "title" in data["test"].column_names:
        metrics["held_out_works"] = {
            name: list(data[name]["title"]) for name in ("validation", "test")
        }
    (work / "samples.txt").write_text(
        _samples(model, tokenizer, config), encoding="utf-8"
    )
    figures = {"gates.png": gate_figure(model, tokenizer, config)}
    out = close_run(work, config, TASK, model, metrics, history, info, figures)
    distribution.finish(work)
    return LanguageModelRun(out, model, tokenizer, config, metrics)


def _build(config, tokenizer):
    return build_language_model(
        tokenizer.vocab_size,
        embed_dim=config.embed_dim,
        units=config.units,
        num_layers=config.num_layers,
        dropout=config.dropout,
        recurrent_dropout=config.recurrent_dropout,
        tie_embeddings=config.tie_embeddings,
        reset_after=config.reset_after,
        stateful=config.stateful,
        batch_size=config.batch_size if config.stateful else None,
        gru_class=config.gru_class,
        cell=config.cell_class,
    )


def gate_figure(model, tokenizer, config):
    """The first gate of the first GRU's cell (the update gate of a GRU) over
    a line the model generates."""
    line = generate(
        model,
        tokenizer,
        "",
        max_new_tokens=GATE_TOKENS,
        temperature=SAMPLE_TEMPERATURES[0],
        seed=config.seed,
    )
    activations = gate_activations(
        model, line, tokenizer=tokenizer, add_bos=True, max_length=GATE_TOKENS
    )
    gate = activations.gates[0]
    title = (
        f"{gate} gate of {activations.layer} over a generated line "
        f"(temperature {SAMPLE_TEMPERATURES[0]})"
    )
    return plots.gate_heatmap(activations, gate=gate, units=16, titles=[title])


__all__ = ["LanguageModelRun", "language_model_metrics", "train_language_model"]
