import numpy as np
import pytest

from ddim_eval.sampling.schedule import linear_betas, make_alphas_cumprod
from ddim_eval.sampling.times import describe_timesteps, timesteps

PAPER_STEPS = [10, 20, 50, 100, 1000]


@pytest.mark.parametrize("S", PAPER_STEPS)
def test_linear_is_official_uniform(S):
    # Official: range(0, T, T // S); written out independently here.
    assert timesteps(S, "linear") == [i * (1000 // S) for i in range(S)]


@pytest.mark.parametrize("S", PAPER_STEPS)
def test_quadratic_is_official_quad(S):
    # Exact integer floor of (i sqrt(0.8 T) / (S - 1))^2 = floor(800 i^2 / (S - 1)^2); for these S the official
    # float computation truncates to the same values.
    assert timesteps(S, "quadratic") == [(800 * i * i) // (S - 1) ** 2 for i in range(S)]


def test_literal_sequences():
    assert timesteps(10, "linear") == [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]
    assert timesteps(10, "quadratic") == [0, 9, 39, 88, 158, 246, 355, 483, 632, 800]


def test_quadratic_keeps_official_float_truncation():
    # At S = 16 the exact floor gives 32, 128, 288 at i = 3, 6, 9; the official float arithmetic gives one less.
    ts = timesteps(16, "quadratic")
    assert (ts[3], ts[6], ts[9]) == (31, 127, 287)


@pytest.mark.parametrize("S, distinct", [(50, 49), (100, 96), (10, 10), (20, 20)])
def test_quadratic_duplicates_are_kept(S, distinct):
    ts = timesteps(S, "quadratic")
    assert len(ts) == S and len(set(ts)) == distinct
    assert ts == sorted(ts) and ts[-1] == 800
    assert describe_timesteps(ts).startswith(f"{S} network evaluations, {distinct} distinct timesteps")


def test_linear_non_divisor_follows_official():
    # range(0, 1000, 33) has 31 entries: the official code runs 31 steps for S = 30.
    assert len(timesteps(30, "linear")) == 31


def test_schedule_float64_and_values():
    betas = linear_betas()
    assert betas.dtype == np.float64 and betas[0] == 1e-4 and betas[-1] == 0.02 and len(betas) == 1000
    a = make_alphas_cumprod()
    assert a.dtype == np.float64
    assert a[0] == pytest.approx(1 - 1e-4, rel=1e-15)
    assert a[999] == pytest.approx(np.prod(1 - np.linspace(1e-4, 0.02, 1000)), rel=1e-12)
    assert np.all(np.diff(a) < 0)


@pytest.mark.parametrize("kwargs, message", [
    (dict(steps=0), r"steps must be in \[1, T=1000\], got 0"),
    (dict(steps=1001), r"steps must be in \[1, T=1000\], got 1001"),
    (dict(steps=10, spacing="cosine"),
     r"spacing 'cosine' is not one of a discrete grid's: \['linear', 'quadratic', 'trailing', 'logSNR'\]"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        timesteps(**kwargs)


def test_steps_must_be_integer():
    with pytest.raises(TypeError, match="steps must be an integer"):
        timesteps(10.5)


def test_bad_schedule():
    with pytest.raises(ValueError, match="unknown beta schedule 'cosine'"):
        make_alphas_cumprod("cosine")
    with pytest.raises(ValueError, match="beta_start"):
        linear_betas(1000, 0.1, 0.01)
