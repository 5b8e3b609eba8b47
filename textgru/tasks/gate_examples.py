"""The gates.png of a run that reads whole texts: the first gate of its first
GRU over a few test texts of a readable length, each titled by its task
(true and predicted labels)."""

from textgru.interpret import gate_activations, plots

# A few test texts of a readable length.
GATE_EXAMPLES = 3
GATE_TOKENS = (6, 24)


def gate_figure(run, texts, captions):
    """The first gate of the first GRU's cell (the update gate of a GRU) over
    up to `GATE_EXAMPLES` of `texts` whose token count is within
    `GATE_TOKENS` (else the first text); `captions(indices)` gives the end
    of each chosen text's title (what the task says of it)."""
    low, high = GATE_TOKENS
    lengths = [len(ids) for ids in run.preprocessor.encode_batch(texts)]
    chosen = [i for i, n in enumerate(lengths) if low <= n <= high][:GATE_EXAMPLES]
    chosen = chosen or [0]
    activations = gate_activations(run, [texts[i] for i in chosen])
    titles = [
        f"{acts.gates[0]} gate of {acts.layer} ({acts.direction}); {caption}"
        for acts, caption in zip(activations, captions(chosen), strict=True)
    ]
    return plots.gate_heatmap(activations, units=16, titles=titles)
