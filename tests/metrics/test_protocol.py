"""The protocol study's measurements: JPEG storage, reference subsets, and the stratified resamples that keep a
smaller sample count paired with the whole set."""

import numpy as np
import pytest

from ddim_eval.metrics.bootstrap import paired_difference, unpaired_difference
from ddim_eval.metrics.protocol import fid_resampled, jpeg_roundtrip, nested_counts, reference_subset
from ddim_eval.metrics.stats import from_features


def test_jpeg_roundtrip_loses_more_at_lower_quality_and_keeps_shape():
    rng = np.random.default_rng(0)
    smooth = np.cumsum(rng.integers(0, 9, (6, 3, 16, 16)), axis=-1).clip(0, 255).astype(np.uint8)
    for images in (smooth, smooth[:, :1]):  # RGB and grayscale
        errors = [np.abs(jpeg_roundtrip(images, q).astype(int) - images).mean() for q in (100, 95, 75, 20)]
        assert jpeg_roundtrip(images, 95).shape == images.shape and jpeg_roundtrip(images, 95).dtype == np.uint8
        assert errors == sorted(errors) and errors[-1] > errors[1] > 0
    with pytest.raises(ValueError, match="JPEG quality 0: allowed 1..100"):
        jpeg_roundtrip(smooth, 0)


def test_nested_counts_resample_the_subset_and_the_rest_apart():
    counts = nested_counts(50, 20, n_boot=30, seed=3)
    assert counts.shape == (30, 50)
    assert (counts[:, :20].sum(1) == 20).all() and (counts[:, 20:].sum(1) == 30).all()
    assert not np.array_equal(counts, nested_counts(50, 20, n_boot=30, seed=4))
    with pytest.raises(ValueError, match="a subset of 49 of 50 samples"):
        nested_counts(50, 49, 30, 0)


def test_a_reference_subset_is_seeded_and_of_its_size():
    features = np.random.default_rng(1).normal(size=(100, 4))
    a, b = (reference_subset(features, 30, seed=0, extractor="x", layer="y") for _ in range(2))
    assert a.n == 30 and np.array_equal(a.mu, b.mu)
    assert not np.array_equal(a.mu, reference_subset(features, 30, seed=1, extractor="x", layer="y").mu)
    with pytest.raises(ValueError, match="the reference holds 100"):
        reference_subset(features, 100, 0, "x", "y")


def test_a_shift_on_the_same_samples_has_a_narrower_paired_interval_than_an_unpaired_one():
    """A small perturbation of every sample's features (as JPEG storage makes): paired, the interval of the shift is
    a fraction of the unpaired one, and it still covers the shift measured."""
    rng = np.random.default_rng(2)
    ref = from_features(rng.normal(size=(2000, 8)), "x", "y")
    features = rng.normal(0.1, 1, size=(400, 8))
    shifted = features + rng.normal(0, 0.05, size=features.shape) + 0.02
    counts = np.stack([np.bincount(rng.integers(0, 400, 400), minlength=400) for _ in range(100)])
    paper, deviation = (fid_resampled(f, ref, counts, seed=0) for f in (features, shifted))
    paired, unpaired = paired_difference(deviation, paper, 0.95), unpaired_difference(deviation, paper, 0.95)
    assert paired["ci_high"] - paired["ci_low"] < 0.2 * (unpaired["ci_high"] - unpaired["ci_low"])
    assert paired["ci_low"] <= paired["difference"] <= paired["ci_high"]
    assert paper.value == pytest.approx(fid_resampled(features, ref, counts[:1], seed=0).value)
