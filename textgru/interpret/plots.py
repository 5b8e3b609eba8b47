"""Figures: training curves, confusion matrices, reliability diagrams,
predictions against true values, per-label scores and gate heatmaps.

Each function returns a `matplotlib.figure.Figure` built with Matplotlib's
object API, so no global backend is switched and nothing pops up; a notebook
shows it when it is a cell's last value, and `save(figure, path)` writes it.
"""

import textwrap
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from textgru._atomic import atomic_path
from textgru.errors import InvalidArgumentError

# Gates (0 to 1) in every figure and on the page of `textgru serve`: white to
# navy, dark near 1 (the unit keeps its state).
GATE_COLOURS = "Blues"


def training_curves(history, *, kept_epoch=None, monitor=None):
    """Loss and accuracy per epoch, train against validation.

    Args:
        history: a list of per-epoch dicts (the rows of a run's `history.csv`)
            or a Keras `History.history` dict of lists.
        kept_epoch: the epoch whose weights the run kept (its `epoch` value,
            counted from 0), marked on every panel.
        monitor: the metric that chose it, for the mark's label.

    Returns:
        A `matplotlib.figure.Figure` (save it with `fig.savefig(path)`).
    """
    if isinstance(history, dict):
        names = list(history)
        columns = zip(*history.values(), strict=True)
        rows = [dict(zip(names, values, strict=True)) for values in columns]
    else:
        rows = list(history)
    metrics = [m for m in ("loss", "accuracy", "mae") if rows and m in rows[0]]
    figure = Figure(figsize=(5 * max(len(metrics), 1), 3.6), layout="constrained")
    epochs = [int(float(r.get("epoch", i))) + 1 for i, r in enumerate(rows)]
    for index, metric in enumerate(metrics, start=1):
        axes = figure.add_subplot(1, len(metrics), index)
        for prefix, label in (("", "train"), ("val_", "validation")):
            values = [float(r[prefix + metric]) for r in rows if r.get(prefix + metric)]
            if values:
                axes.plot(epochs[: len(values)], values, marker="o", label=label)
        if kept_epoch is not None:
            axes.axvline(
                kept_epoch + 1,
                color="black",
                linestyle="--",
                linewidth=1,
                label=f"kept (best {monitor})" if monitor else "kept",
            )
        axes.set_xlabel("epoch")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_ylabel(metric)
        axes.grid(alpha=0.3)
        axes.legend()
    return figure


def confusion_matrix(matrix, label_names, *, title=None, annotate=None):
    """A confusion matrix: true class down, predicted class across.

    Cells are coloured by the fraction of the true class (the row), so rare
    classes show as clearly as common ones, and annotated with the counts.

    Args:
        matrix: counts, `(classes, classes)`, rows true and columns predicted
            (`metrics["test"]["confusion_matrix"]` of a run).
        label_names: the class names.
        title: a title (default: the accuracy).
        annotate: write the counts in the cells (default: up to 20 classes).

    Returns:
        A `matplotlib.figure.Figure`.
    """
    counts = np.asarray(matrix, dtype=np.int64)
    k = len(label_names)
    if counts.shape != (k, k):
        raise InvalidArgumentError(
            f"Expected a {k}x{k} confusion matrix for {k} labels. "
            f"Received: shape {counts.shape}"
        )
    rows = counts.sum(axis=1, keepdims=True)
    fractions = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
    size = min(max(3.2, 0.45 * k + 1.8), 16)
    figure = Figure(figsize=(size + 0.9, size), layout="constrained")
    axes = figure.add_subplot()
    image = axes.imshow(fractions, cmap="Blues", vmin=0, vmax=1)
    figure.colorbar(image, ax=axes, label="fraction of the true class", shrink=0.8)
    axes.set_xticks(range(k), label_names, rotation=45 if k > 2 else 0, ha="right")
    axes.set_yticks(range(k), label_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    if annotate is None:
        annotate = k <= 20
    if annotate:
        for (i, j), count in np.ndenumerate(counts):
            colour = "white" if fractions[i, j] > 0.5 else "black"
            axes.text(j, i, str(count), ha="center", va="center", color=colour)
    if title is None:
        total = counts.sum()
        title = f"accuracy {np.trace(counts) / total:.1%} of {total}" if total else ""
    axes.set_title(title)
    return figure


def reliability_diagram(bins, *, title=None):
    """A reliability diagram: in each bin of the most probable label's
    probability, how often that label is right, against the diagonal of a
    calibrated model; the bars below count the texts per bin.

    Args:
        bins: the `reliability` list of a run's metrics
            (`textgru.tasks.metrics.calibration_error`): per bin `low`,
            `high`, `count`, `confidence` and `accuracy`.
        title: a title (default: the expected calibration error).

    Returns:
        A `matplotlib.figure.Figure`.
    """
    bins = list(bins)
    filled = [b for b in bins if b["count"]]
    figure = Figure(figsize=(4.6, 5.2), layout="constrained")
    top, bottom = figure.subplots(
        2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    lows = [b["low"] for b in bins]
    widths = [b["high"] - b["low"] for b in bins]
    top.bar(
        [b["low"] for b in filled],
        [b["accuracy"] for b in filled],
        width=[b["high"] - b["low"] for b in filled],
        align="edge",
        edgecolor="black",
        linewidth=0.5,
        label="accuracy in the bin",
    )
    top.plot(
        [b["confidence"] for b in filled],
        [b["accuracy"] for b in filled],
        "o",
        color="black",
        markersize=3,
        label="at the bin's mean probability",
    )
    top.plot([0, 1], [0, 1], "--", color="grey", linewidth=1, label="calibrated")
    top.set(xlim=(0, 1), ylim=(0, 1), ylabel="accuracy")
    top.legend(loc="upper left", fontsize="small")
    top.grid(alpha=0.3)
    if title is None:
        total = sum(b["count"] for b in bins) or 1
        ece = sum(
            b["count"] / total * abs(b["accuracy"] - b["confidence"]) for b in filled
        )
        title = f"expected calibration error {ece:.3f}"
    top.set_title(title)
    bottom.bar(lows, [b["count"] for b in bins], width=widths, align="edge")
    bottom.set(xlabel="probability of the predicted label", ylabel="texts")
    return figure


def label_scores(per_label, *, title=None):
    """Precision, recall and F1 of each label of a multi-label run, as
    horizontal bars (one group per label, its test support in its name),
    with each label's decision threshold if given.

    Args:
        per_label: the `per_label` dict of a multi-label report (name ->
            `precision`, `recall`, `f1`, `support`, optionally `threshold`).
        title: a title.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    names = list(per_label)
    figure = Figure(figsize=(6.4, 1.2 + 0.45 * len(names)), layout="constrained")
    axes = figure.subplots()
    rows = np.arange(len(names))
    height = 0.26
    measures = ("precision", "recall", "f1")
    for offset, measure in zip((-height, 0.0, height), measures, strict=True):
        axes.barh(
            rows + offset,
            [per_label[name][measure] for name in names],
            height=height,
            label=measure,
        )
    labels = []
    for name in names:
        row = per_label[name]
        extra = f", t={row['threshold']:.2f}" if "threshold" in row else ""
        labels.append(f"{name} ({row['support']}{extra})")
    axes.set_yticks(rows, labels)
    axes.invert_yaxis()
    axes.set(xlim=(0, 1), xlabel="score")
    axes.grid(axis="x", alpha=0.3)
    figure.legend(loc="outside lower center", ncols=3, fontsize="small")
    if title:
        axes.set_title(title)
    return figure


def predicted_against_true(y_true, y_pred, *, title=None, unit="target"):
    """A regressor's predictions against the true values, one dot per text,
    with the diagonal of a perfect model.

    Args:
        y_true: the true numbers.
        y_pred: the predicted ones.
        title: a title.
        unit: what the numbers are, for the axes.

    Returns:
        A `matplotlib.figure.Figure`.
    """
    y_true = np.asarray(y_true, np.float64).ravel()
    y_pred = np.asarray(y_pred, np.float64).ravel()
    figure = Figure(figsize=(4.8, 4.6), layout="constrained")
    axes = figure.add_subplot()
    axes.scatter(y_true, y_pred, s=6, alpha=0.5, linewidths=0)
    both = np.concatenate([y_true, y_pred])
    low, high = (both.min(), both.max()) if len(both) else (0.0, 1.0)
    axes.plot([low, high], [low, high], "--", color="grey", linewidth=1)
    axes.set(xlabel=f"true {unit}", ylabel=f"predicted {unit}")
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title)
    return figure


def gate_heatmap(activations, *, gate=None, units=16, titles=None):
    """Gate activations as a heatmap: tokens across, units down.

    Args:
        activations: a `textgru.interpret.GateActivations`, or a list of them
            (one panel each).
        gate: `"update"` (z: 1 keeps the state, 0 overwrites it), `"reset"`,
            `"candidate"` or `"hidden"`; or a list of them, for one panel per
            gate under each text. Default: the cell's first gate (`"update"`
            for a GRU, `"reset"`, the forget gate, for `MGUCell`).
        units: `"mean"` for the mean over all units (one row); an int k for
            the k units whose value (of the first gate listed) changes most
            along these texts; or a list of unit indices.
        titles: one title per panel (default: the layer, its direction and
            the gate).

    Returns:
        A `matplotlib.figure.Figure`. Gates share a colour scale from 0 to 1;
        the candidate and the state one from -1 to 1.
    """
    texts = [activations] if hasattr(activations, "tokens") else list(activations)
    if gate is None and texts:
        gate = texts[0].gates[0]
    gates = [gate] if isinstance(gate, str) else list(gate)
    if not texts or not gates:
        raise InvalidArgumentError(
            "Expected at least one GateActivations and one gate. Received none"
        )
    panels = [(text, name, text.gate(name)) for text in texts for name in gates]
    rows, row_labels = _unit_rows(
        [v for _, name, v in panels if name == gates[0]], units
    )
    if titles is None:
        titles = [f"{t.layer} ({t.direction}): {name}" for t, name, _ in panels]
    if len(titles) != len(panels):
        raise InvalidArgumentError(
            f"Expected one title per panel ({len(panels)}). Received {len(titles)}"
        )
    longest = max(len(t.tokens) for t in texts)
    width = min(max(6.0, 0.3 * longest + 2.5), 40)
    heights = [0.22 * len(row_labels) + 1.4 for _ in panels]
    # Room under the panels for each colour bar (gates, and candidate/state).
    bars = len({name in ("update", "reset") for name in gates})
    figure = Figure(figsize=(width, sum(heights) + 1.1 * bars), layout="constrained")
    grid = figure.add_gridspec(len(panels), 1, height_ratios=heights)
    images = {}
    for index, ((text, name, value), title) in enumerate(
        zip(panels, titles, strict=True)
    ):
        axes = figure.add_subplot(grid[index])
        bounded = name in ("update", "reset")
        images[bounded] = axes.imshow(
            rows(value).T,
            aspect="auto",
            # Dark is near 1 (the unit keeps its state), as on the page of
            # `textgru serve`; candidate and state diverge around 0.
            cmap=GATE_COLOURS if bounded else "RdBu_r",
            vmin=0 if bounded else -1,
            vmax=1,
            interpolation="nearest",
        )
        labels = [_label(t) for t in text.tokens]
        axes.set_xticks(range(len(labels)), labels)
        # One cell per token at the same width in every panel.
        axes.set_xlim(-0.5, longest - 0.5)
        if max(len(label) for label in labels) > 1:
            axes.tick_params(axis="x", labelrotation=90 if longest > 12 else 45)
        axes.set_yticks(range(len(row_labels)), row_labels)
        # Wrapped to the figure's width, so a long title never runs into
        # the colour bars or past the edge.
        axes.set_title(
            textwrap.fill(title, max(24, int(width * 9))), loc="left", fontsize="medium"
        )
    panel_axes = list(figure.axes)
    for bounded, image in images.items():
        label = "gate (0 to 1)" if bounded else "candidate, state (-1 to 1)"
        if len(set(gates)) == 1:
            label = gates[0]
        # Under the panels, where neither titles nor tick labels reach.
        figure.colorbar(
            image,
            ax=panel_axes,
            label=label,
            location="bottom",
            shrink=0.5,
            aspect=40,
            pad=0.01,
        )
    return figure


def _unit_rows(values, units):
    """A function picking the plotted rows out of `(length, units)` values,
    and the row labels."""
    if isinstance(units, str):
        if units != "mean":
            raise InvalidArgumentError(
                f"Expected `units` to be 'mean', an int or a list of unit indices. "
                f"Received: units={units!r}"
            )
        return (lambda v: v.mean(axis=1, keepdims=True)), ["mean"]
    total = values[0].shape[1]
    if isinstance(units, (int, np.integer)) and not isinstance(units, bool):
        if units < 1:
            raise InvalidArgumentError(
                f"Expected `units` to be at least 1. Received: units={units}"
            )
        spread = np.concatenate(values).std(axis=0)
        chosen = np.sort(np.argsort(-spread, kind="stable")[: min(units, total)])
    else:
        chosen = np.asarray(list(units), dtype=np.int64)
        if chosen.size == 0 or chosen.min() < -total or chosen.max() >= total:
            raise InvalidArgumentError(
                f"Expected unit indices in [0, {total}). Received: units={units!r}"
            )
    return (lambda v: v[:, chosen]), [f"unit {i}" for i in chosen % total]


def _label(token):
    """A token as a readable tick label: line breaks as ⏎, a bare space as ␣,
    other invisible characters escaped (a half-trained model makes them)."""
    token = "".join(
        c if c.isprintable() or c in " \n" else repr(c)[1:-1] for c in token
    ).replace("\n", "\u23ce")
    return token.replace(" ", "\u2423") if token.strip() == "" else token


def save(figure, path):
    """Write `figure` to `path` in the format its extension names (`.png`,
    `.svg`, `.pdf`, ...), atomically, and return the path."""
    path = Path(path)
    if path.is_dir():
        raise InvalidArgumentError(
            f"Cannot write a figure to {path}: it is a folder; give a file name "
            "such as gates.png"
        )
    kind = path.suffix[1:].lower() or "png"
    if kind not in figure.canvas.get_supported_filetypes():
        raise InvalidArgumentError(
            f"Cannot write a figure as .{kind}; use one of "
            f"{', '.join(sorted(figure.canvas.get_supported_filetypes()))}. "
            f"Received: {path}"
        )
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=110, format=kind)
    return path
