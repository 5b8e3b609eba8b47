"""Temperature scaling (Guo et al., 2017, "On Calibration of Modern Neural
Networks"): one number T that divides the model's logits, fitted on the
validation split to minimise its negative log-likelihood. It changes no
decision of the likelier label (the order of the classes stays), only how
sure the probabilities say the model is; `predict`, `evaluate` and exports
apply it (`textgru._predictions.calibrated`). Only NumPy."""

import numpy as np

from textgru._predictions import calibrated

# The inverse temperature 1/T is searched in [1/20, 20]: the negative
# log-likelihood is convex in it (a softmax of logits times 1/T).
_INVERSE_RANGE = (0.05, 20.0)


def negative_log_likelihood(labels, probabilities):
    """The mean of -log p(true class), each probability kept above 1e-12."""
    p = np.asarray(probabilities, np.float64)
    chosen = p[np.arange(len(p)), np.asarray(labels, np.int64)]
    return float(-np.mean(np.log(np.maximum(chosen, 1e-12))))


def fit_temperature(labels, probabilities, tolerance=1e-6):
    """The temperature T that minimises the negative log-likelihood of
    `labels` under `calibrated(probabilities, T)`, by golden-section search
    over 1/T; returns `(T, nll_before, nll_after)`."""

    def loss(inverse):
        return negative_log_likelihood(labels, calibrated(probabilities, 1 / inverse))

    low, high = _INVERSE_RANGE
    golden = (np.sqrt(5.0) - 1) / 2
    a, b = high - golden * (high - low), low + golden * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    while high - low > tolerance:
        if loss_a < loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - golden * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + golden * (high - low)
            loss_b = loss(b)
    inverse = (low + high) / 2
    before = negative_log_likelihood(labels, probabilities)
    return float(1 / inverse), before, loss(inverse)
