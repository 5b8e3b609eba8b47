"""Every task by its word: the one lookup of tasks and the one reader of
runs by path.

    register(CLASSIFY)                      # textgru train classify
    register(TRANSFER, variant_of=CLASSIFY)  # textgru train classify --from-lm
    load("runs/rt")                          # any run, by its config.json

`textgru.tasks` registers the built-in tasks; a task of your own is one
more line (docs/architecture.md, "Adding a task"). It lives with the run
folders, below the tasks, so that `textgru.interpret` reads runs by path
too; it holds the tasks without importing them.
"""

from textgru.errors import RunError
from textgru.training import run_directory

# `textgru train NAME`: each task by its word, in the order registered.
TASKS = {}
# A task's variant, picked when the variant's own flags are given
# (`--from-lm`), by the word of the task it is a variant of.
VARIANTS = {}


def register(task, *, variant_of=None):
    """Make `task` (a `textgru.tasks.Task`) one that `textgru train`, `load`
    and `for_config` find; returns it. A `variant_of` another task shares
    its word and its runs (transfer is a classifier from a language model)."""
    if variant_of is not None:
        VARIANTS[variant_of.name] = task
    elif TASKS.get(task.name, task) is not task:
        raise RunError(
            f"A task named {task.name!r} is registered already "
            f"({type(TASKS[task.name]).__name__}); give yours another name"
        )
    else:
        TASKS[task.name] = task
    task.run_class.task = task.run_class.task or task
    return task


def every_task():
    """The tasks and their variants."""
    return [*TASKS.values(), *VARIANTS.values()]


def for_config(config):
    """The task that trains `config` (by its class, the closest first)."""
    by_class = {task.config_class: task for task in every_task()}
    for kind in type(config).__mro__:
        if kind in by_class:
            return by_class[kind]
    raise RunError(
        f"No task trains a {type(config).__name__}; register the task first "
        "(textgru.training.registry.register)"
    )


def load(path, allow_partial=False, trust_code=False):
    """The run at `path`, read by its task's run class (a `ClassifierRun`,
    `LanguageModelRun`, ...): `textgru.load(path).predict(["a text"])` gives
    each text's answer, `.generate("ROMEO:")` a continuation.

    A run's `model.keras` holds the network alone; it takes token ids, so
    texts go in through the run (`run.predict`, `run.outputs`: the
    tokenizer and `run.preprocessor` are part of the run). To load the bare
    model with `keras.saving.load_model`, `import textgru` first: Keras finds
    the classes of a library only once it is imported.

    With `allow_partial`, an unfinished `<out>.partial` folder is read too,
    unchecked. `trust_code=True` lets a run made with your own cell import
    the cell's module (see `TaskRun.load`)."""
    name = run_directory.read_config(path, allow_partial=allow_partial).get("task")
    if name not in TASKS:
        raise RunError(f"{path} is a {name!r} run, which this textgru cannot read")
    return TASKS[name].run_class.load(
        path, allow_partial=allow_partial, trust_code=trust_code
    )
