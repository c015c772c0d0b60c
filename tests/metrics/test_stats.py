import numpy as np
import pytest

from ddim_eval.metrics.stats import from_features, load_stats, merge, merge_all, save_stats


def _features(n=3000, d=6, seed=0):
    rng = np.random.default_rng(seed)
    # A large common offset makes naive sum-of-squares accumulation lose digits; pairwise merging must not.
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + 1e4


def test_one_pass_matches_numpy():
    f = _features()
    s = from_features(f, "x", "y")
    np.testing.assert_allclose(s.mu, f.mean(0), rtol=0, atol=1e-9)
    np.testing.assert_allclose(s.sigma, np.cov(f, rowvar=False), rtol=1e-10, atol=1e-9)
    assert s.n == len(f)


@pytest.mark.parametrize("cuts", [[1], [1500], [7, 8, 2999], list(range(100, 3000, 100))])
def test_shard_merge_equals_one_pass(cuts):
    f = _features()
    whole = from_features(f, "x", "y")
    merged = merge_all(from_features(part, "x", "y") for part in np.split(f, cuts))
    assert merged.n == whole.n
    np.testing.assert_allclose(merged.mu, whole.mu, rtol=1e-13)
    np.testing.assert_allclose(merged.sigma, whole.sigma, rtol=1e-9)


def test_merge_order_does_not_matter():
    parts = [from_features(p, "x", "y") for p in np.array_split(_features(), 5)]
    a = merge_all(parts)
    b = merge(merge(parts[4], parts[0]), merge(merge(parts[2], parts[3]), parts[1]))
    np.testing.assert_allclose(a.sigma, b.sigma, rtol=1e-10)


def test_save_load_round_trip_and_merge_from_files(tmp_path):
    f = _features()
    for i, part in enumerate(np.array_split(f, 3)):
        save_stats(tmp_path / f"shard{i}.npz", from_features(part, "digits-cnn", "64"))
    merged = merge_all(load_stats(tmp_path / f"shard{i}.npz") for i in range(3))
    whole = from_features(f, "digits-cnn", "64")
    np.testing.assert_allclose(merged.sigma, whole.sigma, rtol=1e-9)
    with np.load(tmp_path / "shard0.npz", allow_pickle=False) as z:
        assert set(z.files) == {"mu", "sigma", "n", "extractor", "layer"}
        assert z["mu"].dtype == np.float64 and str(z["extractor"]) == "digits-cnn"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_mismatched_extractor_or_layer_is_refused(tmp_path):
    a = from_features(_features(), "inception-v3-compat", "2048")
    b = from_features(_features(), "digits-cnn", "64")
    with pytest.raises(ValueError, match="inception-v3-compat layer 2048.*digits-cnn layer 64"):
        merge(a, b)
    save_stats(tmp_path / "a.npz", a)
    with pytest.raises(ValueError, match=r"a\.npz holds statistics of inception-v3-compat.*expected extractor"):
        load_stats(tmp_path / "a.npz", extractor="digits-cnn")
    with pytest.raises(ValueError, match="expected layer '64'"):
        load_stats(tmp_path / "a.npz", layer="64")


def test_bad_inputs():
    with pytest.raises(ValueError, match="NaN/inf"):
        from_features(np.array([[0.0, np.nan], [1.0, 2.0]]), "x", "y")
    with pytest.raises(ValueError, match=r"N > 0"):
        from_features(np.zeros((0, 3)), "x", "y")
    with pytest.raises(ValueError, match="at least 2 samples"):
        _ = from_features(np.ones((1, 3)), "x", "y").sigma
    with pytest.raises(ValueError, match="nothing to merge"):
        merge_all([])
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        load_stats("missing.npz")


def test_not_a_stats_file(tmp_path):
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ValueError, match="other.npz is not a readable ddim-eval statistics file"):
        load_stats(tmp_path / "other.npz")
    save_stats(tmp_path / "cut.npz", from_features(_features(), "x", "y"))
    data = (tmp_path / "cut.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="cut.npz is not a readable ddim-eval statistics file"):
        load_stats(tmp_path / "cut.npz")


def _corrupt(tmp_path, name, **change):
    save_stats(tmp_path / "good.npz", from_features(_features(), "x", "y"))
    z = dict(np.load(tmp_path / "good.npz"))
    np.savez(tmp_path / name, **(z | change))
    return tmp_path / name


@pytest.mark.parametrize("change, message", [
    (lambda s: {"sigma": np.where(np.eye(len(s)) > 0, np.nan, s)}, r"sigma holds \d+ NaN/inf values"),
    (lambda s: {"sigma": -np.eye(len(s))}, r"sigma is not positive semi-definite \(smallest eigenvalue -1\)"),
    (lambda s: {"sigma": s + np.triu(np.ones_like(s), 1)}, "sigma is not symmetric"),
    (lambda s: {"n": np.int64(1)}, "n = 1; a covariance needs at least 2 samples"),
    (lambda s: {"mu": np.zeros(len(s) + 1)}, r"mu has shape \(\d+,\) and sigma"),
], ids=["nan", "negative", "asymmetric", "one_sample", "shapes"])
def test_corrupt_statistics_are_refused_on_load_naming_the_file(tmp_path, change, message):
    """A FID from such a file is a wrong number (NaN, or 1026.86 for sigma = -I) that a workflow would trust."""
    sigma = from_features(_features(), "x", "y").sigma
    path = _corrupt(tmp_path, "bad.npz", **change(sigma))
    with pytest.raises(ValueError, match=rf"bad.npz holds corrupt statistics: {message}"):
        load_stats(path)


@pytest.mark.parametrize("content, what", [(b"", "empty"), (b"mu,sigma\n1,2\n", "no zip archive")])
def test_a_file_that_is_no_npz_is_named_without_suggesting_pickles(tmp_path, content, what):
    (tmp_path / "stats.npz").write_bytes(content)
    with pytest.raises(ValueError, match=f"stats.npz is not a readable ddim-eval statistics file.*{what}") as e:
        load_stats(tmp_path / "stats.npz")
    assert "pickle" not in str(e.value)
