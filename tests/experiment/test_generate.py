import json

import numpy as np
import pytest
import torch

from ddim_eval.data.images import unit_to_uint8
from ddim_eval.experiment.generate import generate_cell, initial_noise, sample_shard, shard_seed
from ddim_eval.metrics.extractors import load_extractor
from ddim_eval.metrics.features import load_features
from ddim_eval.metrics.stats import from_features, load_stats
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry
from ddim_eval.sampling.schedule import alphas_cumprod, linear_betas
from ddim_eval.sampling.times import timesteps

ALPHAS = alphas_cumprod(linear_betas())


def paper_run(steps, eta):
    """The paper's S steps at eta on the linear tau: DDIM's run with budget S."""
    return prepare(paper_entry(eta), steps, ALPHAS, "linear")
SHAPE = (1, 8, 8)


def _smooth_model(x, t):
    # A fixed, t-dependent eps-model: enough to make samples depend on eta, S and x_T.
    return 0.5 * torch.tanh(x) * (1 + t.view(-1, 1, 1, 1).to(x.dtype) / 1000)


def test_shard_seed_depends_on_model_and_shard_only():
    assert shard_seed("digits", 0) == shard_seed("digits", 0)
    assert len({shard_seed("digits", k) for k in range(50)} | {shard_seed("cifar10", 0)}) == 51
    assert 0 <= shard_seed("cifar10", 10**6) < 2**63
    with pytest.raises(ValueError, match="shard index"):
        shard_seed("digits", -1)


def test_x_T_is_shared_by_cells_and_independent_of_batch_size():
    ts10, ts50 = timesteps(10, "linear"), timesteps(50, "linear")
    x_T = initial_noise("digits", 3, 10, SHAPE)
    # With a model that ignores its input the result of eta = 0 is a fixed function of x_T; two cells and two
    # batch sizes all start from the same x_T.
    runs = {}
    for name, ts, bs in (("S10/bs4", ts10, 4), ("S10/bs10", ts10, 10), ("S50/bs3", ts50, 3)):
        seen = []

        def model(x, t):
            if t[0] == ts[-1]:
                seen.append(x.clone())
            return _smooth_model(x, t)

        runs[name] = torch.cat([b for b, _ in sample_shard(model, "digits", 3, 10, SHAPE, paper_run(len(ts), 0.0),
                                                           batch_size=bs, progress=False)])
        assert torch.equal(torch.cat(seen), x_T)
    assert torch.equal(runs["S10/bs4"], runs["S10/bs10"])
    assert not torch.equal(runs["S10/bs4"], runs["S50/bs3"])
    assert not torch.equal(initial_noise("digits", 4, 10, SHAPE), x_T)


def test_stochastic_cells_are_reproducible():
    ts = 10

    def run(eta):
        return torch.cat([b for b, _ in sample_shard(_smooth_model, "digits", 0, 6, SHAPE, paper_run(ts, eta),
                                                     batch_size=4, progress=False)])

    assert torch.equal(run(1.0), run(1.0))
    assert not torch.equal(run(1.0), run(0.0))
    assert torch.equal(run("sigma_hat"), run("sigma_hat"))


def test_nan_samples_name_the_shard_and_images():
    def diverging(x, t):
        out = torch.zeros_like(x)
        out[1] = float("nan")
        return out

    gen = sample_shard(diverging, "digits", 7, 8, SHAPE, paper_run(10, 0.0), batch_size=4,
                       progress=False)
    with pytest.raises(FloatingPointError, match=r"samples of digits shard 7, images 0\.\.3: 64 NaN/inf"):
        next(gen)


def test_bad_sizes():
    with pytest.raises(ValueError, match="n=0"):
        next(sample_shard(_smooth_model, "digits", 0, 0, SHAPE, paper_run(2, 0.0)))


def test_generate_cell_writes_consistent_outputs(tmp_path):
    extractor = load_extractor("digits-cnn")
    ts = 10
    record = generate_cell(_smooth_model, "digits", tmp_path / "cell", shape=SHAPE, run=paper_run(ts, 0.0), n=50, shard=0, extractor=extractor, batch_size=16,
                           keep_floats=True, progress=False, describe={"S": 10, "eta": 0.0})  # and the uint8 ones
    files = sorted(p.name for p in (tmp_path / "cell").iterdir())
    assert files == ["features.npz", "samples.npz", "stats.npz", "timing.json"]  # no temp files left behind
    with np.load(tmp_path / "cell" / "samples.npz") as z:
        samples, floats = z["images"], z["floats"]
    assert samples.shape == (50, 1, 8, 8) and samples.dtype == np.uint8
    # The float pixels are the uint8 ones before rounding, and not all of them were integers.
    assert floats.dtype == np.float32 and 0 <= floats.min() and floats.max() <= 1
    np.testing.assert_array_equal(unit_to_uint8(torch.from_numpy(floats)).numpy(), samples)
    assert np.abs(floats * 255 - samples).max() > 0.1
    features = load_features(tmp_path / "cell" / "features.npz", "digits-cnn", "64")
    np.testing.assert_allclose(features, extractor(torch.from_numpy(samples)).numpy(), rtol=1e-4, atol=1e-4)
    stats = load_stats(tmp_path / "cell" / "stats.npz", "digits-cnn", "64")
    np.testing.assert_allclose(stats.sigma, from_features(features, "digits-cnn", "64").sigma, rtol=1e-9,
                               atol=1e-12)
    timing = json.loads((tmp_path / "cell" / "timing.json").read_text())
    assert timing == record
    assert timing["images"] == 50 - 16 and timing["network_evals"] == 10 and timing["S"] == 10
    assert timing["seconds_per_image_per_step"] > 0 and timing["device"].startswith("cpu")
