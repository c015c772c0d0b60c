"""Bootstrap intervals: resampling by counts, the weighted FID, the interval's coverage on Gaussian features, paired
differences, FID_inf, and the errors for bad levels and resample counts."""

import numpy as np
import pytest
import torch
from interval_coverage import GaussianCells, measure_coverage

from ddim_eval.metrics.bootstrap import (
    Replicated,
    check_level,
    interval,
    paired_difference,
    resample_counts,
    unpaired_difference,
)
from ddim_eval.metrics.distances import fid
from ddim_eval.metrics.fid_bootstrap import fid_replicates
from ddim_eval.metrics.fid_infinity import extrapolate, fid_infinity, subset_sizes
from ddim_eval.metrics.scores import IntervalOptions, score_cell
from ddim_eval.metrics.stats import from_features


def _cells(n=500, d=12, seed=0):
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) / np.sqrt(d) + np.eye(d)
    generated = rng.normal(size=(n, d)) @ mix + 3.0  # an offset: the weighted moments must centre first
    reference = from_features(rng.normal(size=(800, d)) + 3.2, "x", "y")
    return generated, reference


def test_counts_are_resamples_of_n_and_depend_on_the_seed_alone():
    counts = resample_counts(1000, 50, seed=7)
    assert counts.shape == (50, 1000) and (counts.sum(1) == 1000).all() and counts.min() >= 0
    # About 1/e of the samples are left out of a resample.
    assert abs((counts == 0).mean() - np.exp(-1)) < 0.01
    np.testing.assert_array_equal(counts, resample_counts(1000, 50, seed=7))
    assert not np.array_equal(counts, resample_counts(1000, 50, seed=8))
    assert (resample_counts(1000, 3, seed=7, size=300).sum(1) == 300).all()


def test_weighted_fid_equals_the_fid_of_the_resampled_features():
    generated, reference = _cells()
    stats = from_features(generated, "x", "y")
    counts = resample_counts(len(generated), 4, seed=0)
    replicates = fid_replicates(generated, reference, np.vstack([np.ones(len(generated), int), counts]))
    assert replicates[0] == pytest.approx(fid(stats, reference), rel=1e-10)
    for row, value in zip(counts, replicates[1:]):
        resampled = from_features(np.repeat(generated, row, axis=0), "x", "y")  # what the counts stand for
        assert value == pytest.approx(fid(resampled, reference), rel=1e-9)


def test_the_interval_is_the_replicates_spread_reflected_about_the_estimate():
    rng = np.random.default_rng(0)
    replicates = rng.normal(size=20000)
    low, high = interval(10.0, replicates, 0.9)
    assert low == pytest.approx(10 - 1.645, abs=0.03) and high == pytest.approx(10 + 1.645, abs=0.03)
    # A bootstrap bias (the replicates sit above the estimate, as FID's do) does not move the interval.
    assert interval(10.0, replicates + 3.0, 0.9) == pytest.approx((low, high))
    # Skewed replicates: the long upper tail becomes a long lower tail (the basic interval's reflection).
    skewed = rng.exponential(size=20000)
    low, high = interval(5.0, skewed, 0.9)
    assert 5.0 - low > high - 5.0
    assert interval(0.5, rng.normal(size=1000), 0.95, floor=0.0)[0] == 0.0


@pytest.mark.parametrize("level", [0, 1, 1.5, -0.1, "0.95"])
def test_levels_outside_the_open_unit_interval_are_refused(level):
    with pytest.raises(ValueError, match=rf"interval level {level!r} is outside \(0, 1\)"):
        check_level(level)


@pytest.mark.parametrize("n_boot", [1, 0, -5, 2.5])
def test_fewer_than_two_resamples_are_refused(n_boot):
    with pytest.raises(ValueError, match=rf"n_boot {n_boot!r}: a bootstrap interval needs an integer number of "
                                         r"resamples >= 2"):
        resample_counts(100, n_boot, 0)
    with pytest.raises(ValueError, match="n_boot"):
        IntervalOptions(n_boot=n_boot)


def test_the_interval_is_close_to_95_percent_on_gaussian_features():
    """Coverage of E[FID_n] and of the paired difference, against targets from 1000 independent draws. The naive
    percentile interval, measured beside it where FID's bias is large against its noise, falls far short: the test
    can tell a good interval from a bad one."""
    good = measure_coverage(GaussianCells(16, 0.9, 0), 400, trials=150, n_boot=100, draws=1000)
    assert 0.89 <= good["coverage_fid"] <= 0.99 and 0.89 <= good["coverage_paired"] <= 0.99
    assert good["width_paired"] < 0.8 * good["width_unpaired"]
    biased = measure_coverage(GaussianCells(32, 0.9, 0), 300, trials=100, n_boot=100, draws=1000)
    assert biased["coverage_fid_percentile"] < 0.8 < biased["coverage_fid"]


def test_paired_differences_need_the_same_resamples_and_are_narrower_for_correlated_cells():
    rng = np.random.default_rng(0)
    shared = rng.normal(size=500)
    a = Replicated(1.0, 1.0 + shared, seed=0, n=100)
    b = Replicated(0.5, 0.5 + shared + 0.1 * rng.normal(size=500), seed=0, n=100)
    paired, unpaired = paired_difference(a, b, 0.95), unpaired_difference(a, b, 0.95)
    assert paired["significant"] and not unpaired["significant"]
    assert paired["ci_high"] - paired["ci_low"] < 0.2 * (unpaired["ci_high"] - unpaired["ci_low"])
    with pytest.raises(ValueError, match="same resamples; got seed/n/n_boot 0/100/500 and 1/100/500"):
        paired_difference(a, Replicated(0.5, b.replicates, seed=1, n=100), 0.95)


def test_fid_infinity_extrapolates_in_one_over_n():
    sizes = subset_sizes(50000)
    assert len(sizes) == 15 and sizes[0] == 5000 and sizes[-1] == 50000
    assert extrapolate(sizes, 3.0 + 1234.0 / sizes) == pytest.approx(3.0)
    # On Gaussian features FID_inf sits near the population FID, where FID at n sits above it.
    cells = GaussianCells(16, 0.9, 0)
    rng = np.random.default_rng(1)
    draws = [cells.draw(400, rng)[0] for _ in range(12)]
    ref = cells.reference()
    fids = [fid(from_features(f, "gaussian", "synthetic"), ref) for f in draws]
    infs = [fid_infinity(f, ref, n_boot=2, seed=0)[0].value for f in draws]
    target = cells.population_fid()
    assert abs(np.mean(infs) - target) < 0.5 * abs(np.mean(fids) - target)


def test_a_cell_record_holds_intervals_replicates_and_what_they_are():
    generated, reference = _cells()
    ref_features = np.random.default_rng(3).normal(size=(800, 12)) + 3.2
    record = score_cell(from_features(generated, "x", "y"), reference, generated, ref_features=ref_features,
                        intervals=IntervalOptions(0.9, 50, 3), with_fid_infinity=True, with_precision_recall=True,
                        kid_subset_size=200, kid_subsets=10)
    assert record["fid_ci_low"] <= record["fid"] <= record["fid_ci_high"]
    assert record["fid_inf_ci_low"] <= record["fid_inf"] <= record["fid_inf_ci_high"]
    assert (record["ci_level"], record["n_boot"], record["bootstrap_seed"]) == (0.9, 50, 3)
    assert len(record["replicates"]["fid"]) == 50 and len(record["fid_inf_points"]) == 15
    assert 0 <= record["precision"] <= 1 and 0 <= record["recall"] <= 1 and "kid_mean" in record
    assert record["kid_all_pairs_ci_low"] < record["kid_all_pairs"] < record["kid_all_pairs_ci_high"]
    assert set(record["replicates"]) == {"fid", "fid_inf", "kid_all_pairs"}
    with pytest.raises(ValueError, match="499 feature rows do not match the cell's statistics of 500 samples"):
        score_cell(from_features(generated, "x", "y"), reference, generated[:-1])
    with pytest.raises(ValueError, match="precision and recall need the reference's features"):
        score_cell(from_features(generated, "x", "y"), reference, generated, with_precision_recall=True)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_the_gpu_bootstrap_equals_the_cpu_one():
    generated, reference = _cells(n=3000, d=64)
    counts = resample_counts(3000, 20, seed=0)
    np.testing.assert_allclose(fid_replicates(generated, reference, counts, device="cuda"),
                               fid_replicates(generated, reference, counts), rtol=1e-9)


def test_all_pairs_kid_of_weights_equals_kid_of_the_resampled_features(monkeypatch):
    from ddim_eval.metrics import kid_bootstrap
    from ddim_eval.metrics.distances import kid

    monkeypatch.setattr(kid_bootstrap, "BLOCK", 128)  # several blocks per side
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(300, 8)), rng.normal(size=(300, 8)) + 0.3
    counts = resample_counts(300, 3, seed=0)
    values = kid_bootstrap.kid_replicates(x, y, np.vstack([np.ones((1, 300), int), counts]))
    # One subset holding every sample: torch-fidelity's estimator is the all-pairs one.
    assert values[0] == pytest.approx(kid(x, y, subsets=1, subset_size=300)["kid_mean"], rel=1e-6)
    for row, value in zip(counts, values[1:]):
        assert value == pytest.approx(kid_bootstrap.kid_replicates(np.repeat(x, row, axis=0), y,
                                                                   np.ones((1, 300), int))[0], rel=1e-9)


def test_fid_infinity_below_zero_is_reported_at_zero_inside_its_interval():
    """The demo study once printed FID_inf -0.05083 [0, 1.81]: an extrapolated intercept below 0, outside its own
    interval. Features scored against their own statistics extrapolate to about 0, often below."""
    from ddim_eval.metrics.fid_infinity import extrapolate, fid_infinity, subset_sizes
    from ddim_eval.metrics.stats import from_features

    features = np.random.default_rng(0).normal(size=(600, 8))
    ref = from_features(features, "x", "y")
    estimate, points = fid_infinity(features, ref, n_boot=20, seed=0)
    assert extrapolate(*map(np.array, zip(*points))) < 0 and len(points) == len(subset_sizes(600))
    low, high = estimate.interval(0.95)
    assert estimate.value == 0.0 and low <= estimate.value <= high
