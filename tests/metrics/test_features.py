"""Streaming features and their statistics; features files."""

import numpy as np
import pytest

from ddim_eval.metrics.extractors import INCEPTION, load_extractor
from ddim_eval.metrics.features import batches, extract, load_features, save_features


def test_extract_streams_batches(digits_images):
    extractor = load_extractor("digits-cnn")
    features, stats = extract(extractor, batches(digits_images[0], 100), progress=False)
    assert features.shape == (1437, 64) and stats.n == 1437 and (stats.extractor, stats.layer) == ("digits-cnn", "64")
    np.testing.assert_allclose(stats.sigma, np.cov(features.astype(np.float64), rowvar=False), rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="no images"):
        extract(extractor, [], progress=False)


def test_features_file_round_trip_and_mismatch(tmp_path):
    f = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    save_features(tmp_path / "f.npz", f, "digits-cnn", "64")
    np.testing.assert_array_equal(load_features(tmp_path / "f.npz", "digits-cnn", "64"), f)
    with pytest.raises(ValueError, match="f.npz holds features of digits-cnn layer 64; expected extractor"):
        load_features(tmp_path / "f.npz", extractor=INCEPTION)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_features(tmp_path / "nope.npz")
