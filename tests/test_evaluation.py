"""textgru.tasks.metrics against scikit-learn's metrics (an independent reference)."""

import numpy as np
import pytest
from sklearn import metrics

from textgru.tasks.metrics import classification_report


@pytest.mark.parametrize("k", [2, 3, 6])
def test_report_matches_scikit_learn(k, rng):
    y_true = rng.integers(0, k, size=300)
    y_pred = np.where(rng.random(300) < 0.6, y_true, rng.integers(0, k, size=300))
    y_pred[y_pred == k - 1] = 0  # one class never predicted: precision 0
    names = [f"c{i}" for i in range(k)]
    report = classification_report(y_true, y_pred, names)
    assert report["accuracy"] == pytest.approx(metrics.accuracy_score(y_true, y_pred))
    assert report["macro_f1"] == pytest.approx(
        metrics.f1_score(y_true, y_pred, average="macro", zero_division=0)
    )
    p, r, f, s = metrics.precision_recall_fscore_support(
        y_true, y_pred, labels=range(k), zero_division=0
    )
    for i, name in enumerate(names):
        row = report["per_class"][name]
        assert (row["precision"], row["recall"], row["f1"], row["support"]) == (
            pytest.approx(p[i]), pytest.approx(r[i]), pytest.approx(f[i]), s[i],
        )  # fmt: skip
    assert (
        report["confusion_matrix"]
        == metrics.confusion_matrix(y_true, y_pred, labels=range(k)).tolist()
    )
    assert report["label_names"] == names and report["num_examples"] == 300
