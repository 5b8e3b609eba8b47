"""textgru.layers.ReversibleEmbedding: harness, and the reverse is x @ E^T."""

import numpy as np
import pytest

from tests.layers.harness import run_layer_test
from textgru.layers import ReversibleEmbedding

pytestmark = pytest.mark.layers


def test_harness(tmp_path):
    run_layer_test(
        lambda: ReversibleEmbedding(12, 4),
        np.array([[1, 2, 3], [4, 0, 11]], dtype="int32"),
        expected_output_shape=(2, 3, 4),
        expected_num_weights=1,
        tmp_path=tmp_path,
    )


def test_reverse_scores_the_vocabulary_with_the_same_matrix(rng):
    layer = ReversibleEmbedding(12, 4)
    ids = np.array([[1, 2, 3]])
    vectors = np.asarray(layer(ids))
    matrix = np.asarray(layer.embeddings)
    np.testing.assert_allclose(vectors[0], matrix[[1, 2, 3]])
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    np.testing.assert_allclose(
        np.asarray(layer(x, reverse=True)), x @ matrix.T, rtol=1e-5, atol=1e-6
    )
