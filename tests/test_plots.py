"""textgru.interpret.plots: each figure shows the numbers it is given (read back
from the Matplotlib artists), and bad arguments are one-line errors."""

import numpy as np
import pytest

from textgru.errors import InvalidArgumentError
from textgru.interpret import plots
from textgru.interpret.gates import GateActivations


def _activations(tokens, units=6, seed=0):
    rng = np.random.default_rng(seed)
    n = len(tokens)
    return GateActivations(
        text="".join(tokens),
        tokens=list(tokens),
        token_ids=np.arange(n),
        update=rng.uniform(size=(n, units)),
        reset=rng.uniform(size=(n, units)),
        candidate=rng.uniform(-1, 1, size=(n, units)),
        hidden=rng.uniform(-1, 1, size=(n, units)),
        layer="gru",
        direction="forward",
    )


def test_training_curves_plot_train_and_validation():
    history = {"loss": [0.9, 0.5], "val_loss": [1.0, 0.7], "accuracy": [0.6, 0.8]}
    figure = plots.training_curves(history)
    loss, accuracy = figure.axes
    assert [line.get_label() for line in loss.lines] == ["train", "validation"]
    np.testing.assert_allclose(loss.lines[1].get_ydata(), [1.0, 0.7])
    np.testing.assert_allclose(accuracy.lines[0].get_xdata(), [1, 2])


def test_confusion_matrix_shows_counts_coloured_by_row_fraction():
    counts = [[8, 2, 0], [1, 3, 0], [0, 0, 0]]
    figure = plots.confusion_matrix(counts, ["a", "b", "c"])
    axes = figure.axes[0]
    cells = [int(text.get_text()) for text in axes.texts]
    assert cells == [8, 2, 0, 1, 3, 0, 0, 0, 0]
    colours = axes.images[0].get_array()
    np.testing.assert_allclose(colours, [[0.8, 0.2, 0], [0.25, 0.75, 0], [0, 0, 0]])
    assert [t.get_text() for t in axes.get_yticklabels()] == ["a", "b", "c"]
    assert axes.get_title() == "accuracy 78.6% of 14"  # (8 + 3) / 14
    many = plots.confusion_matrix(np.eye(30, dtype=int), [str(i) for i in range(30)])
    assert not many.axes[0].texts  # too many classes to annotate
    with pytest.raises(InvalidArgumentError, match="3x3 confusion matrix"):
        plots.confusion_matrix([[1, 2], [3, 4]], ["a", "b", "c"])


def test_gate_heatmap_rows_and_labels():
    first = _activations(["not", " ", "bad", "\n"], seed=1)
    second = _activations(["a", "film"], seed=2)
    figure = plots.gate_heatmap([first, second], gate="reset", units=2)
    top, bottom, colourbar = figure.axes
    assert [t.get_text() for t in top.get_xticklabels()] == ["not", "␣", "bad", "⏎"]
    # The 2 units that vary most over both texts, in index order, on both panels.
    spread = np.concatenate([first.reset, second.reset]).std(axis=0)
    chosen = sorted(np.argsort(-spread)[:2])
    assert [t.get_text() for t in top.get_yticklabels()] == [
        f"unit {i}" for i in chosen
    ]
    np.testing.assert_allclose(top.images[0].get_array(), first.reset[:, chosen].T)
    np.testing.assert_allclose(bottom.images[0].get_array(), second.reset[:, chosen].T)
    assert bottom.get_xlim() == top.get_xlim()  # one cell width for every panel
    assert colourbar.get_xlabel() == "reset"
    # One convention with the page of `textgru serve`: dark is near 1.
    assert top.images[0].get_cmap().name == plots.GATE_COLOURS == "Blues"

    mean = plots.gate_heatmap(first, units="mean", titles=["the mean"]).axes[0]
    np.testing.assert_allclose(mean.images[0].get_array(), [first.update.mean(1)])
    assert mean.get_title(loc="left") == "the mean"
    both = plots.gate_heatmap([first, second], gate=["update", "hidden"], units=1)
    panels, bars = both.axes[:4], both.axes[4:]
    assert [a.get_title(loc="left") for a in panels[:2]] == [
        "gru (forward): update",
        "gru (forward): hidden",
    ]
    unit = np.argmax(np.concatenate([first.update, second.update]).std(axis=0))
    np.testing.assert_allclose(
        panels[3].images[0].get_array(), [second.hidden[:, unit]]
    )
    assert [b.get_xlabel() for b in bars] == [
        "gate (0 to 1)",
        "candidate, state (-1 to 1)",
    ]
    picked = plots.gate_heatmap(first, gate="hidden", units=[5, 0]).axes[0]
    np.testing.assert_allclose(picked.images[0].get_array(), first.hidden[:, [5, 0]].T)
    assert picked.images[0].get_clim() == (-1, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(gate="forget"), "Expected a gate in update, reset"),
        (dict(units="max"), "'mean', an int or a list"),
        (dict(units=0), "at least 1"),
        (dict(units=[6]), r"unit indices in \[0, 6\)"),
        (dict(units=[]), r"unit indices in \[0, 6\)"),
        (dict(gate=[]), "at least one GateActivations and one gate"),
        (dict(titles=["a", "b"]), r"one title per panel \(1\)"),
    ],
)
def test_gate_heatmap_rejects_bad_arguments(kwargs, message):
    with pytest.raises(InvalidArgumentError, match=message):
        plots.gate_heatmap(_activations(["a", "b"]), **kwargs)


def test_saved_figure_is_a_png(tmp_path):
    path = plots.save(plots.gate_heatmap(_activations(["x"])), tmp_path / "g.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_training_curves_mark_the_kept_epoch():
    history = [
        {"epoch": "0", "loss": "0.9", "val_loss": "0.8"},
        {"epoch": "1", "loss": "0.6", "val_loss": "0.5"},
        {"epoch": "2", "loss": "0.4", "val_loss": "0.7"},
    ]
    from textgru.training.loop import best_epoch

    kept = best_epoch(history, "val_loss")
    assert kept == 1
    figure = plots.training_curves(history, kept_epoch=kept, monitor="val_loss")
    (axes,) = figure.axes
    marks = [line for line in axes.lines if line.get_label() == "kept (best val_loss)"]
    assert len(marks) == 1 and list(marks[0].get_xdata()) == [2, 2]


def test_a_multi_gate_figure_keeps_titles_and_colour_bars_apart():
    """Long titles ran into the colour bars beside the panels: the bars now
    sit under every panel, and each title stays inside the figure."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    texts = [_activations(["a", "film"], seed=1), _activations(list("abcdefgh"))]
    gates = ["update", "reset", "candidate", "hidden"]
    titles = [
        f"{'a long text to see how its title wraps ' * 2!r}, predicted pos (0.93): "
        f"{gate} gate of forward_gru_0 (forward)"
        for _ in texts
        for gate in gates
    ]
    figure = plots.gate_heatmap(texts, gate=gates, units=3, titles=titles)
    FigureCanvasAgg(figure).draw()
    renderer = figure.canvas.get_renderer()
    panels, bars = figure.axes[:8], figure.axes[8:]
    assert len(bars) == 2
    lowest_panel = min(a.get_tightbbox(renderer).y0 for a in panels)
    assert all(b.get_tightbbox(renderer).y1 <= lowest_panel for b in bars)
    width = figure.bbox.width
    for axes in panels:
        title = axes.title if axes.title.get_text() else axes._left_title
        box = title.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= width, title.get_text()
