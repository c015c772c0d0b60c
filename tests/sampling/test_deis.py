"""tAB-DEIS against diffusers' DEISMultistepScheduler (solver_type "logrho") and against its own theory.

They meet where the conventions agree: the polynomial in log rho, diffusers' integer timesteps and its last node
t = 0, its lower_order_final rule, float64 schedules. Each convention where ours (the authors') differs has a
test that shows the outputs differ, then aligns exactly that point and gets agreement to 1e-5.
"""

import math

import numpy as np
import pytest
import torch
from diffusers import DEISMultistepScheduler
from scipy.integrate import quad

from ddim_eval.sampling import sample
from ddim_eval.sampling.common import predict_x0
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import SAMPLERS
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.tab_deis import _run, _step_orders, _tab_coefficients, deis
from ddim_eval.sampling.times import (
    continuous_grid,
    discrete_grid,
    grid_at,
    karras_grid,
    time_of_lambda,
)

# diffusers hands torch tensors to numpy (np.log of 0-d tensors, np.array of its schedule): NumPy 2 deprecations
pytestmark = [pytest.mark.filterwarnings("ignore:__array_wrap__:DeprecationWarning"),
              pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]

A = make_alphas_cumprod()
SHAPE = (1, 4, 4)
EPS = mixture_eps_model(demo_mixture(SHAPE), A)
X_T = torch.randn(8, *SHAPE, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
RHO = np.sqrt((1 - A) / A)


def diffusers_deis(steps, order, lower_order_final=True):
    """diffusers' loop (linspace spacing, linear betas, T = 1000) in float64: it keeps its schedule and sigmas in
    float32, so both are replaced by ours (the same numbers in float64). Returns x and its integer timesteps."""
    scheduler = DEISMultistepScheduler(num_train_timesteps=1000, beta_start=1e-4, beta_end=0.02,
                                       beta_schedule="linear", solver_order=order, algorithm_type="deis",
                                       solver_type="logrho", lower_order_final=lower_order_final)
    scheduler.alphas_cumprod = torch.from_numpy(A)
    scheduler.set_timesteps(steps)
    ts = scheduler.timesteps.numpy()
    scheduler.sigmas = torch.from_numpy(np.append(RHO[ts], RHO[0]))  # its last node: sigma of t = 0
    x = X_T
    for t in scheduler.timesteps:
        x = scheduler.step(EPS(x, t.expand(x.shape[0])), t, x).prev_sample
    return x, ts


def peer_grid(ts, clean_data_last=False):
    """Our grid through diffusers' timesteps, then its last node t = 0 (or the clean data)."""
    nodes = ts.astype(np.float64) if clean_data_last else np.append(ts, 0.0).astype(np.float64)
    return grid_at(A, nodes, to_data=clean_data_last)


def logrho_deis(grid, order, lower_order_final):
    """Our DEIS with diffusers' polynomial variable, log rho."""
    return _run(EPS, X_T, grid, _tab_coefficients(grid, _step_orders(grid, order, lower_order_final), "logrho"))


def max_diff(a, b):
    return (a - b).abs().max().item()


# --- agreement where the conventions meet


@pytest.mark.parametrize("order", [1, 2, 3])
@pytest.mark.parametrize("steps, lower_order_final", [(5, True), (10, True), (10, False), (20, False)])
def test_logrho_variant_matches_diffusers(order, steps, lower_order_final):
    # Measured max |diff| <= 1.3e-13 (float64); diffusers' closed-form integrals vs our quadrature.
    peer, ts = diffusers_deis(steps, order, lower_order_final)
    assert max_diff(logrho_deis(peer_grid(ts), order, lower_order_final), peer) <= 1e-5


def test_order_one_is_ddim_and_ignores_the_variable():
    # A constant polynomial: DDIM's step (eq. 12, eta = 0) whatever the variable. Measured 6e-15.
    grid = discrete_grid(A, 10, "linear")
    ours = deis(EPS, X_T, grid, order=1, lower_order_final=True)
    assert max_diff(ours, sample(EPS, X_T, grid, 0.0)) <= 1e-12
    assert max_diff(ours, logrho_deis(grid, 1, True)) <= 1e-12
    peer, ts = diffusers_deis(10, 1)
    assert max_diff(deis(EPS, X_T, peer_grid(ts), order=1, lower_order_final=True), peer) <= 1e-5


# --- conventions: differ, align one point, agree


@pytest.mark.parametrize("order", [2, 3])
def test_polynomial_variable_t_vs_log_rho(order):
    """The authors' tAB extrapolates eps by a polynomial in time t; diffusers' in log rho (rho = sigma / alpha).
    Same grid, same rule, same weights' integral otherwise: t differs by > 5e-3 (measured 1.2e-2 at order 2 and 3,
    10 steps); the log-rho polynomial agrees to 1e-5 (measured 2e-15)."""
    peer, ts = diffusers_deis(10, order)
    grid = peer_grid(ts)
    assert max_diff(deis(EPS, X_T, grid, order=order, lower_order_final=True), peer) > 5e-3
    assert max_diff(logrho_deis(grid, order, True), peer) <= 1e-5


@pytest.mark.parametrize("order", [2, 3])
def test_integer_vs_continuous_times(order):
    """diffusers evaluates at integer timesteps, rounded from linspace(0, 999, S + 1) (999, 899, ..., 100, then 0);
    our continuous time_uniform grid keeps the fractional times (999, 899.1, ..., 99.9, 0). Differ by > 3e-4
    (measured 8.8e-4 / 9.0e-4 at orders 2 / 3, 10 steps); our grid through diffusers' times agrees to 1e-5."""
    peer, ts = diffusers_deis(10, order)
    continuous = continuous_grid(A, 10, "time_uniform")
    assert continuous.t[1] != np.round(continuous.t[1])
    assert max_diff(logrho_deis(continuous, order, True), peer) > 3e-4
    assert max_diff(logrho_deis(peer_grid(ts), order, True), peer) <= 1e-5


@pytest.mark.parametrize("order", [2, 3])
def test_lower_order_final_rule(order):
    """Ours lowers the last steps' order (last step first order, the one before at most second) at any number of
    steps; diffusers only below 15 steps. At 20 steps they differ by > 0.05 (measured 0.13 / 0.73 at orders 2 / 3:
    diffusers' log-rho extrapolation over the long last uniform step); ours without the rule agrees to 1e-5."""
    peer, ts = diffusers_deis(20, order, lower_order_final=True)
    grid = peer_grid(ts)
    assert max_diff(logrho_deis(grid, order, True), peer) > 0.05
    assert max_diff(logrho_deis(grid, order, False), peer) <= 1e-5


@pytest.mark.parametrize("order", [2, 3])
def test_final_node_clean_data_vs_t0(order):
    """diffusers' last node is t = 0 (sigma = sqrt(1 - alpha_bar_0) ~ 0.01), as our continuous grids; a grid ending
    at the clean data (discrete, karras) steps to sigma = 0 instead. Differ by > 0.01 (measured 0.025); ending our
    grid at t = 0 agrees to 1e-5."""
    peer, ts = diffusers_deis(10, order)
    to_data = logrho_deis(peer_grid(ts, clean_data_last=True), order, True)
    assert torch.isfinite(to_data).all()
    assert max_diff(to_data, peer) > 0.01
    assert max_diff(logrho_deis(peer_grid(ts), order, True), peer) <= 1e-5


# --- the weights


def exact_weight(grid, i, poly, variable):
    """alpha_e int p(v) drho over step i, by adaptive quadrature in rho itself on each unit interval of t (where
    t(rho) is smooth): v = log rho, or t = time_of_lambda(-log rho), independent of the sampler's quadrature."""
    t0, t1 = grid.t[i], grid.t[i + 1]
    edges = np.concatenate([[t0], np.arange(np.ceil(t0) - 1, t1, -1.0), [t1]])
    rho = grid_at(A, edges, to_data=False)
    rho = rho.sigma / rho.alpha

    def f(r):
        return poly(np.log(r) if variable == "logrho" else float(time_of_lambda(A, -np.log(r))))
    return grid.alpha[i + 1] * sum(quad(f, a, b, epsabs=0, epsrel=1e-13)[0] for a, b in zip(rho, rho[1:]))


@pytest.mark.parametrize("variable, scale", [("t", 1000.0), ("logrho", 1.0)])
def test_weights_integrate_polynomials_exactly(variable, scale):
    # Order k is exact for eps a polynomial of degree k - 1 in its variable: the first, a middle and the last
    # step (t ~ 10 -> 0, where rho changes fastest) of a quadratic-time grid. Measured relative error <= 6e-16.
    grid = continuous_grid(A, 10, "time_quadratic")
    v = grid.t if variable == "t" else np.log(grid.sigma / grid.alpha)
    polys = {1: lambda u: 0.7, 2: lambda u: 0.7 - u / scale, 3: lambda u: 0.7 - u / scale + 2 * (u / scale) ** 2}
    orders = _step_orders(grid, 3, lower_order_final=False)
    weights = _tab_coefficients(grid, orders, variable)
    for i in (0, 4, 9):
        poly = polys[orders[i]]
        ours = sum(c * poly(v[i - j]) for j, c in enumerate(weights[i][1]))
        assert ours == pytest.approx(exact_weight(grid, i, poly, variable), rel=1e-10)


def test_weights_match_the_authors_riemann_sum():
    # The authors sum 10,000 left Riemann points of psi(tau, t_e) eps_integrand(tau) l_j(tau) per step, our
    # alpha_e drho/dtau l_j(tau): the same weights to ~1e-4 relative (measured 1.1e-4), ours exact to rounding.
    grid = continuous_grid(A, 10, "time_quadratic")
    weights = _tab_coefficients(grid, _step_orders(grid, 3, lower_order_final=False), "t")
    i = 5
    tau = np.linspace(grid.t[i], grid.t[i + 1], 10000, endpoint=False)
    step = (grid.t[i + 1] - grid.t[i]) / 10000
    hi, lo = grid_at(A, tau + 1e-6, to_data=False), grid_at(A, tau - 1e-6, to_data=False)
    drho = (hi.sigma / hi.alpha - lo.sigma / lo.alpha) / 2e-6
    nodes = grid.t[i - 2:i + 1][::-1]
    for j, ours in enumerate(weights[i][1]):
        basis = np.prod([(tau - nodes[k]) / (nodes[j] - nodes[k]) for k in range(3) if k != j], axis=0)
        authors = grid.alpha[i + 1] * np.sum(drho * basis) * step
        assert ours == pytest.approx(authors, rel=1e-3)


# --- grids, orders, NFE


@pytest.mark.parametrize("make_grid", [lambda: discrete_grid(A, 10, "linear"), lambda: karras_grid(A, 10)])
@pytest.mark.parametrize("order", [1, 2, 3])
def test_clean_data_last_node_is_a_first_order_step_to_the_data_prediction(make_grid, order):
    grid = make_grid()
    assert grid.sigma[-1] == 0 and np.isnan(grid.t[-1])
    x = deis(EPS, X_T, grid, order=order, lower_order_final=False)
    assert torch.isfinite(x).all()
    # Without its last node the grid ends at the last evaluated time: the same first steps, then x0_hat there.
    head = grid._replace(t=grid.t[:-1], alpha=grid.alpha[:-1], sigma=grid.sigma[:-1])
    x_prev = deis(EPS, X_T, head, order=order, lower_order_final=False)
    t_last = grid.t[-2]
    a = grid.alpha[-2] ** 2
    expected = predict_x0(x_prev, EPS(x_prev, torch.full((8,), t_last, dtype=torch.float64)), math.sqrt(a),
                          math.sqrt(1 - a))
    assert max_diff(x, expected) <= 1e-12


def test_step_orders():
    grid = continuous_grid(A, 6, "time_quadratic")
    assert _step_orders(grid, 3, True) == [1, 2, 3, 3, 2, 1]
    assert _step_orders(grid, 3, False) == [1, 2, 3, 3, 3, 3]
    assert _step_orders(grid, 2, True) == [1, 2, 2, 2, 2, 1]
    assert _step_orders(discrete_grid(A, 5, "linear"), 3, False) == [1, 2, 3, 3, 1]  # into sigma = 0


def test_higher_orders_are_more_accurate_on_the_registry_grid():
    # Against a 500-step order-3 solve, 20 quadratic-time steps: measured max errors 6.8e-2, 2.4e-2, 1.4e-2.
    reference = deis(EPS, X_T, continuous_grid(A, 500, "time_quadratic"), order=3, lower_order_final=True)
    grid = continuous_grid(A, 20, "time_quadratic")
    errors = [max_diff(deis(EPS, X_T, grid, order=k, lower_order_final=True), reference) for k in (1, 2, 3)]
    assert errors[0] > 1.5 * errors[1] > 1.5 * errors[2]


def test_bad_arguments_raise_before_any_call():
    grid = continuous_grid(A, 5, "time_quadratic")

    def never(x, t):
        raise AssertionError("called")
    for order in (0, 1.5, True):
        with pytest.raises(ValueError, match="order"):
            deis(never, X_T, grid, order=order, lower_order_final=True)
    with pytest.raises(ValueError, match="descending"):
        deis(never, X_T, grid._replace(t=grid.t[::-1].copy()), order=2, lower_order_final=True)
    with pytest.raises(ValueError, match="variable"):
        _tab_coefficients(grid, [1, 2, 2, 2, 2], "rho")


def test_registry_entry():
    entry = SAMPLERS["deis"]
    assert (entry.grid, entry.spacing, entry.params["order"].default) == ("continuous", "time_quadratic", 4)
    assert entry.title({"order": 4}) == "DEIS tAB3" and entry.params["lower_order_final"].default is False
    run = prepare({"name": "deis"}, 10, A)
    assert run.grid.steps == 10 and torch.isfinite(run(EPS, X_T)).all()


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("lower_order_final", [True, False])
def test_nfe_is_counted_exactly(order, lower_order_final):
    calls = []

    def counting(x, t):
        calls.append(t.shape[0])
        return EPS(x, t)
    for budget in sorted({order, order + 1, 5, 6, 10}):
        calls.clear()
        run = prepare({"name": "deis", "params": {"order": order, "lower_order_final": lower_order_final}}, budget, A)
        run(counting, X_T)
        assert len(calls) == run.nfe == budget and set(calls) == {X_T.shape[0]}
    for budget in range(order):
        with pytest.raises(ValueError):
            prepare({"name": "deis", "params": {"order": order}}, budget, A)
