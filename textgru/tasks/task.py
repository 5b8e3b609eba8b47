"""What every task shares: one training run, from config to finished run folder.

A task declares what is its own (its word, config class, run class, data,
batches, model, compile, metrics and reports) by overriding the methods of
`Task`; `Task.train` runs the steps every task shares, once:

    check --out -> seed -> start from a parent run? -> data -> open the run
    (lock, tokenizer, config.json) -> batches -> model -> compile and fit
    (callbacks, checkpoint, backup, resume) -> tune (on validation) ->
    metrics -> reports -> finish (manifest, one rename)

Every step that touches the run folder goes through one
`textgru.training.run_folder.RunFolder`, held for the whole call.

See `docs/architecture.md` for a worked outline of a new task.
"""

import dataclasses
import json

import keras

from textgru._config import before_fields
from textgru._status import say
from textgru.data import Tokenizer
from textgru.data.config import describe_source
from textgru.data.tokenizer import KINDS
from textgru.errors import RunError, RunIntegrityError
from textgru.interpret import plots
from textgru.tasks.word_vectors import start_embedding, vector_metrics
from textgru.training import distribute, registry, run_directory
from textgru.training.loop import FitContext, best_epoch, fit_run
from textgru.training.run_folder import RunFolder
from textgru.training.schedules import total_steps


class Task:
    """One kind of run. Subclasses set the class attributes and override the
    methods marked "the task's own"; an instance is the task
    (`textgru.tasks.CLASSIFY`, ...).

    Attributes:
        name: the task's word: `textgru train NAME`, and `task` in a run's
            config.json.
        help: one line for `textgru train --help`.
        description: the paragraph of `textgru train NAME --help`.
        config_class: its `TrainConfig` subclass.
        run_class: its `TaskRun` subclass (what `train` returns and `load` reads).
        report_files: the files its `reports` write beyond every run's.
        switch: of a variant of another task (`textgru.tasks.VARIANTS`), the
            field of its own whose value picks it (`from_lm` for transfer);
            None for a task of its own.
        switch_help: what the variant is, for the command line's messages.
        evaluate_flags: the options of its runs' `evaluate` beyond every
            task's (the dataset, split, text column and errors file), by
            name -> help: `textgru evaluate` gives each as a flag.
        graph: what its export's graph does (`textgru export`): "outputs",
            the model's outputs for texts, made answers by the run's `head`
            (`textgru.heads`); "steps", a language model's step graph; None,
            no export.
    """

    name = None
    help = ""
    description = ""
    config_class = None
    run_class = None
    report_files = ()
    switch = None
    switch_help = ""
    evaluate_flags = {}
    graph = "outputs"

    @property
    def files(self):
        """Every file a finished run of this task holds (its manifest aside)."""
        return (*run_directory.NEEDED, *run_directory.REPORTS, *self.report_files)

    @staticmethod
    def for_config(config):
        """The registered task that trains `config` (by its class)."""
        return registry.for_config(config)

    def config_from_dict(self, values):
        """The config a run of this task recorded (`values`), in the smallest
        config class of a task of this name that has every recorded field
        (a classifier from a language model has a `TransferConfig`)."""
        kinds = [
            task.config_class
            for task in (self, *registry.every_task())
            if task.name == self.name and set(values) <= _field_names(task.config_class)
        ]
        if not kinds:  # refused with the unknown fields named
            return self.config_class.from_dict(values)
        kind = min(kinds, key=lambda kind: len(_field_names(kind)))
        # A field newer than the run reads as what the run did without it.
        return kind.from_dict({**before_fields(kind), **values})

    # --- the task's own -------------------------------------------------------

    def parent(self, config):
        """The run this one starts from (`--from-lm`), or None."""
        return None

    def load_data(self, config):
        """The `DatasetDict` (train, validation, test) the run trains on."""
        raise NotImplementedError

    def info(self, config, data, parent):
        """Facts recorded in config.json beside the config (label names, ...)."""
        return {}

    def preprocessor(self, config, tokenizer):
        """The `Preprocessor` that turns this task's texts into model input."""
        raise NotImplementedError

    def training_rows(self, config, data, info):
        """The rows the model is fit on (default: the train split); facts
        about them may be added to `info`, recorded in config.json."""
        return data["train"]

    def batches(self, config, split, tokenizer, *, training, drop_remainder):
        """A `tf.data.Dataset` of one split (`training`: the one fit on)."""
        raise NotImplementedError

    def build_model(self, config, tokenizer, info, parent=None):
        """The uncompiled model, from the config (and the parent run's model)."""
        raise NotImplementedError

    def compile(self, model, config, steps, layer_factors=None):
        """Compile `model` with this task's loss, metrics and optimizer."""
        raise NotImplementedError

    def fit(self, model, train, validation, context):
        """Compile and fit in the run folder (`context`: a
        `textgru.training.loop.FitContext`); `(model, seconds, history)`."""
        config = context.config
        with context.distribution.scope():
            self.compile(model, config, total_steps(config, int(train.cardinality())))
        return fit_run(model, train, validation, context)

    def tune(self, run, data):
        """What this task fits after training, on the validation split (a
        decision threshold, ...): facts for config.json beside the config,
        which the run reads back (`run_class.made`); none by default."""
        return {}

    def metrics(self, run, data):
        """This task's measures of the trained run, for metrics.json."""
        raise NotImplementedError

    def reports(self, run, data):
        """This task's report files (name -> matplotlib Figure or text), the
        names of `report_files`."""
        return {}

    def summary(self, run):
        """The one line `textgru train` prints at the end."""
        return f"run written to {run.path}"

    def truth(self, run, rows):
        """What `evaluate` scores against, from the rows of a split (their
        labels, label sets or targets, as the run's own)."""
        raise NotImplementedError

    def score(self, run, truth, outputs):
        """The report of `evaluate`: the run's `outputs` against `truth`."""
        raise NotImplementedError

    def errors(self, run, texts, truth, outputs):
        """`(rows, columns, what)` of `evaluate(errors=...)`: the texts the
        run gets wrong, worst first, their file's columns, and what they
        are for the status line."""
        raise NotImplementedError

    def check_scored(self, run, rows, dataset):
        """Refuse to score another `dataset`'s `rows` where it would say
        nothing (none by default)."""

    def report_text(self, report):
        """A report of its runs' `evaluate` as the few lines `textgru
        evaluate` prints."""
        return json.dumps(report, indent=2)

    # --- what every task shares -----------------------------------------------

    def train(self, config=None, *, callbacks=(), verbose="auto"):
        """Train as `config` says and write the run directory `config.out`.

        Returns the finished run (of a multi-host run, on process 0; the other
        processes return None).
        """
        config = (config or self.config_class()).with_absolute_paths()
        with RunFolder.of(config) as folder:
            return self._train(config, folder, tuple(callbacks), verbose)

    def _train(self, config, folder, callbacks, verbose):
        dist = distribute.setup(config)
        if dist.num_processes == 1:
            # Refuse a run that cannot start before loading anything (several
            # processes check inside `_open`, where the chief's error reaches
            # them all).
            folder.check()
        keras.utils.set_random_seed(config.seed)
        parent = self.parent(config)
        if parent is not None:
            config = config.inherit(parent.config)
        say(f"loading {describe_source(config.dataset)}")
        data = self.load_data(config)
        info = self.info(config, data, parent)
        tokenizer = self._open(
            folder, config, data["train"], info, parent and parent.tokenizer, dist
        )
        rows = {
            "train": self.training_rows(config, data, info),
            "validation": data["validation"],
        }
        train, validation = (
            dist.shard(
                self.batches(
                    config,
                    rows[split],
                    tokenizer,
                    training=split == "train",
                    drop_remainder=dist.distributed,
                )
            )
            for split in ("train", "validation")
        )
        with dist.scope():
            model = self.build_model(config, tokenizer, info, parent)
            # Pretrained word vectors, for the tasks whose config has them.
            vectors = start_embedding(model, config, tokenizer)
        if vectors is not None:
            info["embeddings"] = vectors
        say(
            f"training a {model.count_params():,}-parameter model on "
            f"{len(data['train']):,} texts (at most {config.epochs} epochs)"
        )
        context = FitContext(config, folder.work, callbacks, verbose, dist)
        model, seconds, history = self.fit(model, train, validation, context)
        if model is None:  # another process of a distributed run: the chief reports
            dist.clean_up(folder.work)
            return None
        run = self.run_class.made(folder.work, model, tokenizer, config, {}, info)
        tuned = self.tune(run, data)
        if tuned:  # recorded beside the config; the run uses them from now on
            info = {**info, **tuned}
            run = self.run_class.made(folder.work, model, tokenizer, config, {}, info)
        say("evaluating on the validation and test splits")
        run.metrics = {
            **self.metrics(run, data),
            "num_parameters": int(model.count_params()),
            "train_seconds": round(seconds, 1),
            "resumed": folder.resumed,
            "epochs_run": len(history),
            "split_sizes": {name: len(split) for name, split in data.items()},
        }
        if "embeddings" in info:
            run.metrics["embeddings"] = vector_metrics(info["embeddings"])
        names = ("training_curves.png", *self.report_files)
        say(f"writing the reports ({', '.join(names)})")
        run.path = self._close(folder, run, info, history, self.reports(run, data))
        dist.clean_up(folder.work)
        return run

    def _open(self, folder, config, train_split, info, tokenizer, dist):
        """Start (or resume) the run `folder` and return the run's tokenizer:
        trained on `train_split`, or the given one (a parent run's), or when
        resuming the one the interrupted run saved; records config.json. Of a
        distributed run, the chief does all that and gives the other
        processes its tokenizer; a resumed run checks that every process
        resumes from the same epoch."""

        def begin():
            nonlocal tokenizer
            folder.open()
            if folder.resumed:
                folder.check_settings(config)
                tokenizer = folder.load_tokenizer()
            else:
                if tokenizer is None:
                    say(
                        f"training the {config.tokenizer} tokenizer on "
                        f"{len(train_split):,} texts"
                        if config.tokenizer in KINDS
                        else f"reading the tokenizer {config.tokenizer}"
                    )
                    tokenizer = config.build_tokenizer(train_split)
                folder.save_tokenizer(tokenizer)
                folder.record(self.name, config, info, finished=False)
            return json.dumps(
                {"resumed": folder.resumed, "tokenizer": tokenizer.to_json()}
            )

        shared = json.loads(dist.from_chief(begin))
        if not dist.is_chief:
            folder.resumed = shared["resumed"]
            tokenizer = Tokenizer.from_json(shared["tokenizer"])
        epochs = dist.prepare_backups(folder.work, folder.resumed)
        if folder.resumed and dist.is_chief:
            # Training goes on after the epochs the backup holds.
            folder.keep_epochs(epochs)
        return tokenizer

    def _close(self, folder, run, info, history, reports):
        """Write the model, metrics, curves, the task's reports and config, then
        finish the run folder (with its manifest) in one rename."""
        if set(reports) != set(self.report_files):
            raise RunError(
                f"The {self.name!r} task declares report_files "
                f"{', '.join(self.report_files) or 'none'}, but its reports() gave "
                f"{', '.join(reports) or 'none'}; make the two agree"
            )
        folder.save_model(run.model)
        folder.write_json("metrics.json", run.metrics)
        monitor = run.config.monitor
        curves = plots.training_curves(
            history, kept_epoch=best_epoch(history, monitor), monitor=monitor
        )
        for name, content in {"training_curves.png": curves, **reports}.items():
            if isinstance(content, str):
                folder.write_text(name, content)
            else:
                plots.save(content, folder.work / name)
        folder.record(self.name, run.config, info, finished=True)
        return folder.finish(self.files, run.model, run.tokenizer)

    def upgrade(self, model, config, tokenizer, info, path):
        """A model saved before the backbone existed (run formats 1 and 2, a
        flat functional model), rebuilt as this task builds it now with the
        same weights, in the same order."""
        new = self.build_model(config, tokenizer, info)
        try:
            new.set_weights(model.get_weights())
        except ValueError as error:
            raise RunIntegrityError(
                f"{path}/model.keras does not fit the network its config.json "
                f"describes ({error}); it is not this run's model"
            ) from None
        return new


def _field_names(config_class):
    return {field.name for field in dataclasses.fields(config_class)}
