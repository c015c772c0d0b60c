import numpy as np
import pytest
import scipy.linalg
import torch

from ddim_eval.metrics.distances import fid, frechet_distance, kid
from ddim_eval.metrics.stats import from_features


def _random_cov(d, rng, rank=None):
    a = rng.normal(size=(d, rank or d))
    return a @ a.T / d


def test_closed_form_diagonal():
    mu1, mu2 = np.array([0.0, 1.0, -2.0]), np.array([1.0, 1.0, 0.5])
    v1, v2 = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.01])
    exact = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(v1) - np.sqrt(v2)) ** 2)
    assert frechet_distance(mu1, np.diag(v1), mu2, np.diag(v2)) == pytest.approx(exact, rel=1e-12, abs=1e-8)


def test_closed_form_shared_eigenbasis():
    # Covariances Q D1 Q^T and Q D2 Q^T: the distance is that of the diagonal case.
    rng = np.random.default_rng(1)
    q, _ = np.linalg.qr(rng.normal(size=(20, 20)))
    d1, d2 = rng.uniform(0.1, 3, 20), rng.uniform(0.1, 3, 20)
    exact = np.sum((np.sqrt(d1) - np.sqrt(d2)) ** 2)
    got = frechet_distance(np.zeros(20), q @ np.diag(d1) @ q.T, np.zeros(20), q @ np.diag(d2) @ q.T)
    assert abs(got - exact) < 1e-8


def test_closed_form_non_commuting_2x2():
    # For 2x2 matrices, tr sqrt(M) = sqrt(tr M + 2 sqrt(det M)) with M = S1 S2 (eigenvalues are those of a PSD matrix).
    s1, s2 = np.array([[2.0, 0.9], [0.9, 1.0]]), np.array([[0.5, -0.3], [-0.3, 3.0]])
    assert np.abs(s1 @ s2 - s2 @ s1).max() > 0.1
    m = s1 @ s2
    tr_sqrt = np.sqrt(np.trace(m) + 2 * np.sqrt(np.linalg.det(m)))
    mu1, mu2 = np.array([1.0, 2.0]), np.array([-1.0, 0.5])
    exact = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * tr_sqrt
    assert abs(frechet_distance(mu1, s1, mu2, s2) - exact) < 1e-8


def test_agrees_with_scipy_sqrtm_on_full_rank():
    rng = np.random.default_rng(2)
    s1, s2, mu1, mu2 = _random_cov(30, rng), _random_cov(30, rng), rng.normal(size=30), rng.normal(size=30)
    ref = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2) - 2 * np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(ref, rel=1e-9)


def _eigvals_fid(mu1, s1, mu2, s2):
    # torch-fidelity 0.4's formula: square roots of the eigenvalues of the non-symmetric S1 S2.
    tr = np.sum(np.sqrt(np.linalg.eigvals(s1 @ s2).astype(complex)).real)
    return float((mu1 - mu2) @ (mu1 - mu2) + np.trace(s1) + np.trace(s2) - 2 * tr)


def test_singular_covariances_are_exact():
    # Rank-20 covariances in 64 dimensions (fewer samples than dimensions): identical inputs give 0, and the distance
    # to a scaled copy c^2 S is (1 - c)^2 tr S. The eigenvalue formula misses both by the square roots of rounding
    # noise; the nuclear-norm form with rank-thresholded roots does not.
    rng = np.random.default_rng(3)
    s = _random_cov(64, rng, rank=20)
    mu = rng.normal(size=64)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-10
    assert abs(frechet_distance(mu, s, mu, 4 * s) - np.trace(s)) < 1e-10
    assert abs(_eigvals_fid(mu, s, mu, s)) > 1e-8
    other = _random_cov(64, rng, rank=20)
    assert frechet_distance(mu, s, mu, other) == pytest.approx(_eigvals_fid(mu, s, mu, other), rel=1e-6)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="shapes do not match"):
        frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_fid_of_stats_checks_extractor():
    f = np.random.default_rng(0).normal(size=(100, 4))
    with pytest.raises(ValueError, match="statistics do not match"):
        fid(from_features(f, "a", "64"), from_features(f, "b", "64"))
    assert fid(from_features(f, "a", "64"), from_features(f, "a", "64")) == pytest.approx(0, abs=1e-10)


def test_kid_caps_subset_size_and_separates_distributions():
    rng = np.random.default_rng(0)
    a, b, c = rng.normal(size=(300, 8)), rng.normal(size=(200, 8)), rng.normal(1.0, 1.0, size=(200, 8))
    same, other = kid(a, b, subsets=20), kid(a, c, subsets=20)
    assert same["kid_subset_size"] == 200
    assert abs(same["kid_mean"]) < 3 * same["kid_std"] + 1e-3
    assert other["kid_mean"] > 10 * max(abs(same["kid_mean"]), same["kid_std"])
    with pytest.raises(ValueError, match="same d"):
        kid(a, rng.normal(size=(10, 3)))


def test_matches_torch_fidelity_calculate_metrics(digits_images):
    """FID from our streamed statistics and KID from our features equal torch-fidelity's own pipeline on the same
    two image sets, through the same registered (offline) extractor."""
    import torch_fidelity

    from ddim_eval.metrics.extractors import load_extractor  # registers digits-cnn with torch-fidelity
    from ddim_eval.metrics.features import batches, extract

    train, test = digits_images
    # A perturbed copy of the test split as the second set, so FID is far from 0.
    rng = np.random.default_rng(0)
    noisy = np.clip(test.astype(np.int16) + rng.integers(-40, 40, test.shape), 0, 255).astype(np.uint8)

    class Images(torch.utils.data.Dataset):
        def __init__(self, x):
            self.x = torch.from_numpy(np.repeat(x, 3, axis=1))

        def __len__(self):
            return len(self.x)

        def __getitem__(self, i):
            return self.x[i]

    tf = torch_fidelity.calculate_metrics(input1=Images(noisy), input2=Images(train), fid=True, kid=True, cuda=False,
                                          feature_extractor="digits-cnn", kid_subset_size=300, save_cpu_ram=True,
                                          batch_size=100, verbose=False, cache=False)
    extractor = load_extractor("digits-cnn")
    f1, s1 = extract(extractor, batches(noisy, 77), progress=False)  # batch sizes differ from torch-fidelity's
    f2, s2 = extract(extractor, batches(train, 256), progress=False)
    ours = fid(s1, s2)
    assert ours > 1.0
    assert ours == pytest.approx(tf["frechet_inception_distance"], rel=1e-4)
    k = kid(f1, f2, subset_size=300)
    assert k["kid_mean"] == pytest.approx(tf["kernel_inception_distance_mean"], rel=1e-4)
    assert k["kid_std"] == pytest.approx(tf["kernel_inception_distance_std"], rel=1e-4)
