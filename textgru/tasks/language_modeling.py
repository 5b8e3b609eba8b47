"""Language modelling end to end: train a run, measure held-out perplexity,
generate text.

    run = train_language_model(LanguageModelConfig(out="runs/lm"))
    run.metrics["test"]["bits_per_character"]
    LanguageModelRun.load("runs/lm").generate("ROMEO:", max_new_tokens=200, seed=1)
"""

import dataclasses
import math

import datasets
import keras

from textgru import _validation
from textgru._config import field
from textgru.data import (
    Preprocessor,
    language_model_dataset,
    load_dataset,
    parse_sources,
)
from textgru.errors import InvalidArgumentError, RunError
from textgru.interpret import gate_activations, plots
from textgru.models import build_language_model, generate
from textgru.tasks import lineage
from textgru.tasks.runs import TaskRun
from textgru.tasks.task import Task
from textgru.training import TrainConfig
from textgru.training.optimizers import make_optimizer

SAMPLE_TEMPERATURES = (0.7, 1.0)
GATE_TOKENS = 80  # the length of the line in the run's gates.png


@dataclasses.dataclass
class LanguageModelConfig(TrainConfig):
    """A `TrainConfig` for language modelling (`textgru train lm`); its
    defaults are a character model of `shakespeare`."""

    dataset: str | datasets.Dataset | datasets.DatasetDict = field(
        "shakespeare",
        "built-in name, local text file or hub id; several joined by commas (in "
        "Python also a datasets.Dataset or DatasetDict)",
    )
    tokenizer: str = field(
        "char", "char, byte, word, bpe, wordpiece or unigram", architecture=True
    )
    vocab_size: int = field(
        256, "largest vocabulary, specials included", architecture=True
    )
    lowercase: bool = field(
        False, "lowercase texts before tokenizing", architecture=True
    )
    embed_dim: int = field(64, "embedding width", architecture=True)
    units: int = field(384, "GRU units", architecture=True)
    num_layers: int = field(2, "stacked GRU layers", architecture=True)
    dropout: float = field(0.2, "dropout between layers and before the output")
    batch_size: int = field(64, "windows per batch")
    epochs: int = field(
        5, "most epochs (early stopping may end sooner)", resume_free=True
    )
    learning_rate: float = field(5e-3, "peak learning rate (AdamW)")
    warmup_steps: int = field(100, "steps of linear warm-up to the peak rate")
    out: str = field("runs/lm", "run directory to write")
    seq_len: int = field(128, "tokens per training window")
    stateful: bool = field(
        True, "carry the GRU state across consecutive windows (reset each epoch)"
    )
    tie_embeddings: bool = field(
        False, "share the embedding with the output layer", architecture=True
    )
    from_lm: str | None = field(
        None,
        "a language-model run to go on training on --dataset (its tokenizer and "
        "network sizes are kept)",
    )
    samples: int = field(3, "passages per temperature written to samples.txt")
    sample_length: int = field(300, "tokens per sample passage")

    def __post_init__(self):
        super().__post_init__()
        for name in ("seq_len", "sample_length"):
            _validation.positive_int(name, getattr(self, name))
        if self.stateful and self.distribute != "none":
            raise InvalidArgumentError(
                "A stateful language model keeps one state per batch row, which "
                f"--distribute {self.distribute} splits across devices; pass "
                "--no-stateful"
            )
        _validation.at_least("samples", self.samples, 0)


@dataclasses.dataclass
class LanguageModelRun(TaskRun):
    """A trained language model with its tokenizer, config and metrics."""

    config: LanguageModelConfig

    def generate(self, prompt="", **kwargs):
        """`textgru.models.generate` with this run's model and tokenizer."""
        return generate(self.model, self.tokenizer, prompt, **kwargs)


def load_language_model(path):
    """The `LanguageModelRun` at `path` (a run to start from: `--from-lm`),
    or a one-line `RunError`. Only loads: a name such as `pretrained` is
    resolved by who may train it (`textgru.tasks.transfer.resolve_from_lm`)."""
    try:
        return LanguageModelRun.load(path)
    except RunError as error:
        raise RunError(f"--from-lm: {error}") from None


class ResetStates(keras.callbacks.Callback):
    """Zero the states of stateful GRU layers at the start of every epoch and
    of every evaluation, so each pass reads its stream from the beginning."""

    def on_epoch_begin(self, epoch, logs=None):
        self.model.reset_states()

    def on_test_begin(self, logs=None):
        self.model.reset_states()


def language_model_metrics(model, split, tokenizer, config):
    """Held-out loss of `model` on `split`: nats per token, perplexity, and
    bits per character.

    Bits per character spread the loss over the characters the tokens stand
    for: nats/token x (tokens / characters) / ln 2, counting each text's
    `[BOS]`/`[EOS]` as tokens and its end as one character. For a character
    tokenizer it is the loss in bits, give or take those markers.
    """
    data = _windows(config, split, tokenizer, shuffle=False)
    model.reset_states()
    loss = float(model.evaluate(data, verbose=0, return_dict=True)["loss"])
    preprocessor = LANGUAGE_MODEL.preprocessor(config, tokenizer)
    values, _ = preprocessor.encode_dataset(split)
    characters = sum(len(text) + 1 for text in split["text"])
    return {
        "loss_nats_per_token": loss,
        "perplexity": math.exp(loss),
        "bits_per_character": loss * len(values) / characters / math.log(2),
        "tokens": int(len(values)),
        "characters": int(characters),
    }


def _windows(config, split, tokenizer, shuffle, drop_remainder=False):
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


def _samples(run):
    config = run.config
    if not config.samples:
        return "(no samples: the run was made with --samples 0)\n"
    passages = []
    for temperature in SAMPLE_TEMPERATURES:
        texts = run.generate(
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


class LanguageModelTask(Task):
    """Language modelling: a `GRULanguageModel` on a stream of texts."""

    name = "lm"
    graph = "steps"  # its export steps through tokens, for generate
    help = "language modelling (character level by default)"
    description = (
        "Train a GRU language model. The defaults are a character model of shakespeare."
    )
    config_class = LanguageModelConfig
    run_class = LanguageModelRun
    report_files = ("samples.txt", "gates.png")

    def parent(self, config):
        return load_language_model(config.from_lm) if config.from_lm else None

    def load_data(self, config):
        source = config.data_source()
        return load_dataset(
            parse_sources(source) if isinstance(source, str) else source,
            text_column=config.text_column,
            split_seed=config.split_seed,
        )

    def info(self, config, data, parent):
        return lineage.lm_info(config, parent)

    def preprocessor(self, config, tokenizer):
        return Preprocessor(tokenizer, add_bos=True, add_eos=True)

    def batches(self, config, split, tokenizer, *, training, drop_remainder):
        return _windows(
            config, split, tokenizer, shuffle=training, drop_remainder=drop_remainder
        )

    def build_model(self, config, tokenizer, info, parent=None):
        model = build_language_model(
            tokenizer.vocab_size,
            tie_embeddings=config.tie_embeddings,
            stateful=config.stateful,
            batch_size=config.batch_size if config.stateful else None,
            **config.backbone_options(),
        )
        if parent is not None:
            model.set_weights(parent.model.get_weights())
        return model

    def compile(self, model, config, steps, layer_factors=None):
        model.compile(
            optimizer=make_optimizer(config, steps, layer_factors),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        return model

    def fit(self, model, train, validation, context):
        if context.config.stateful:
            context = context.with_callbacks(ResetStates())
        return super().fit(model, train, validation, context)

    def metrics(self, run, data):
        model, tokenizer, config = run.model, run.tokenizer, run.config
        metrics = {
            "validation": language_model_metrics(
                model, data["validation"], tokenizer, config
            ),
            "test": language_model_metrics(model, data["test"], tokenizer, config),
            "optimizer_steps": int(model.optimizer.iterations.numpy()),
        }
        if "title" in data["test"].column_names:
            metrics["held_out_works"] = {
                name: list(data[name]["title"]) for name in ("validation", "test")
            }
        return metrics

    def reports(self, run, data):
        return {"samples.txt": _samples(run), "gates.png": gate_figure(run)}

    def summary(self, run):
        test = run.metrics["test"]
        return (
            f"test loss {test['loss_nats_per_token']:.4f} nats/token, perplexity "
            f"{test['perplexity']:.2f}, {test['bits_per_character']:.3f} bits/char; "
            f"run written to {run.path}"
        )


def gate_figure(run):
    """The first gate of the first GRU's cell (the update gate of a GRU) over
    a line the model generates."""
    line = run.generate(
        "",
        max_new_tokens=GATE_TOKENS,
        temperature=SAMPLE_TEMPERATURES[0],
        seed=run.config.seed,
    )
    activations = gate_activations(run, line, max_length=GATE_TOKENS)
    gate = activations.gates[0]
    title = (
        f"{gate} gate of {activations.layer} ({activations.direction}) over a "
        "generated line "
        f"(temperature {SAMPLE_TEMPERATURES[0]})"
    )
    return plots.gate_heatmap(activations, gate=gate, units=16, titles=[title])


LANGUAGE_MODEL = LanguageModelTask()


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
    return LANGUAGE_MODEL.train(config, callbacks=callbacks, verbose=verbose)
