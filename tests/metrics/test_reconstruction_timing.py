import numpy as np
import pytest
import torch

from ddim_eval.data.images import to_uint8
from ddim_eval.metrics.reconstruction import reconstruction_errors, summarize
from ddim_eval.metrics.timing import FIGURE4_IMAGES, time_sampling, timing_record
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model, sample_mixture
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry
from ddim_eval.sampling.schedule import alphas_cumprod, linear_betas
from ddim_eval.sampling.times import discrete_grid

ALPHAS = alphas_cumprod(linear_betas())


def test_reconstruction_error_falls_with_steps():
    # The exact eps of a Gaussian mixture: only discretisation error remains, so more steps must reconstruct better.
    shape = (1, 2, 2)
    mixture = demo_mixture(shape)
    model = mixture_eps_model(mixture, ALPHAS)
    images = to_uint8(sample_mixture(mixture, 200, shape, torch.Generator().manual_seed(0))).numpy()
    mse = [summarize(reconstruction_errors(model, images, discrete_grid(ALPHAS, s, "linear"),
                                           dtype=torch.float64, batch_size=64, progress=False))
           for s in (10, 50, 200)]
    assert mse[0]["mse"] > 3 * mse[1]["mse"] > 9 * mse[2]["mse"] > 0
    assert all(m["n"] == 200 and 0 < m["sem"] < m["std"] for m in mse)


def test_perfect_round_trip_gives_zero_error():
    # eps = 0 makes encode and decode exact inverses of x -> sqrt(a) x: the error is only float rounding.
    images = np.random.default_rng(0).integers(0, 256, (5, 3, 4, 4), dtype=np.uint8)
    errors = reconstruction_errors(lambda x, t: torch.zeros_like(x), images, discrete_grid(ALPHAS, 20, "linear"),
                                   progress=False)
    assert errors.shape == (5,) and errors.max() < 1e-12


def test_reconstruction_bad_input():
    with pytest.raises(ValueError, match="empty split"):
        reconstruction_errors(lambda x, t: x, np.zeros((0, 1, 2, 2), np.uint8), discrete_grid(ALPHAS, 1))
    with pytest.raises(FloatingPointError, match="reconstructions of images 0..1"):
        reconstruction_errors(lambda x, t: x * float("nan"), np.zeros((2, 1, 2, 2), np.uint8),
                              discrete_grid(ALPHAS, 2), progress=False)  # tau = [0, 500]


def test_summarize():
    s = summarize(np.array([1.0, 2.0, 3.0, 4.0]))
    assert s["mse"] == 2.5 and s["std"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1)) and s["n"] == 4
    assert s["sem"] == pytest.approx(s["std"] / 2)


def test_timing_record_units():
    r = timing_record(seconds=2.0, images=100, run=prepare(paper_entry(0.0), 50, ALPHAS, "quadratic"), batch_size=100,
                      device="cpu", fast_path="bf16+compile")
    assert r["network_evals"] == 50 and r["distinct_timesteps"] == 49
    assert r["seconds_per_image_per_step"] == pytest.approx(2.0 / (100 * 50))
    assert r["images_per_second"] == 50.0
    assert r["hours_per_50k"] == pytest.approx(FIGURE4_IMAGES / 50.0 / 3600)
    assert r["fast_path"] == "bf16+compile" and r["device"].startswith("cpu")


def test_time_sampling_scales_with_steps():
    calls = []

    def model(x, t):
        calls.append(len(x))
        return torch.zeros_like(x)

    r = time_sampling(model, (1, 4, 4), prepare(paper_entry(0.0), 10, ALPHAS, "linear"), batch_size=8, warmup=2,
                      repeats=3)
    assert len(calls) == 10 * 5 and set(calls) == {8}
    assert r["warmup"] == 2 and r["repeats"] == 3 and r["batch_size"] == 8 and r["seconds"] > 0
    with pytest.raises(ValueError, match="repeats=0"):
        time_sampling(model, (1, 4, 4), prepare(paper_entry(0.0), 1, ALPHAS), batch_size=1, repeats=0)  # tau = [0]
