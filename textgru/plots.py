"""Figures: training curves (and, in notebooks, more). Matplotlib's object API
is used directly, so no global backend is switched and nothing pops up."""

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator


def training_curves(history):
    """Loss and accuracy per epoch, train against validation.

    Args:
        history: a list of per-epoch dicts (the rows of a run's `history.csv`)
            or a Keras `History.history` dict of lists.

    Returns:
        A `matplotlib.figure.Figure` (save it with `fig.savefig(path)`).
    """
    if isinstance(history, dict):
        names = list(history)
        columns = zip(*history.values(), strict=True)
        rows = [dict(zip(names, values, strict=True)) for values in columns]
    else:
        rows = list(history)
    metrics = [m for m in ("loss", "accuracy") if rows and m in rows[0]]
    figure = Figure(figsize=(5 * max(len(metrics), 1), 3.6), layout="constrained")
    epochs = [int(float(r.get("epoch", i))) + 1 for i, r in enumerate(rows)]
    for index, metric in enumerate(metrics, start=1):
        axes = figure.add_subplot(1, len(metrics), index)
        for prefix, label in (("", "train"), ("val_", "validation")):
            values = [float(r[prefix + metric]) for r in rows if r.get(prefix + metric)]
            if values:
                axes.plot(epochs[: len(values)], values, marker="o", label=label)
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def save(figure, path):
    figure.savefig(path, dpi=110)
    return path
