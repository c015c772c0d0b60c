"""DPM-Solver (singlestep, noise prediction) and DPM-Solver++ / multistep DPM-Solver against diffusers'
DPMSolverSinglestepScheduler and DPMSolverMultistepScheduler, and the conventions where they part.

Where they meet: our TimeGrid built from the scheduler's integer `timesteps` plus its final node (the clean data for
final_sigmas_type="zero", t = 0 for "sigma_min"), the exact eps of a Gaussian mixture, float64. diffusers keeps its
sigmas in float32 (from float32 betas): as shipped it agrees to 3e-5; given our float64 sigma / alpha at its own
nodes (as test_peers does for DDPMScheduler's alphas), the comparison is of the update, not of the schedule's
rounding, and the multistep scheduler's float32 cast of x each step is what is left (~1e-7). Where they part
(the authors' dpm_solver_pytorch.py against diffusers), each test shows that the outputs differ under each one's own
convention, and that aligning exactly that one point makes them agree.
"""

import numpy as np
import pytest
import torch
from diffusers import DPMSolverMultistepScheduler, DPMSolverSinglestepScheduler

from ddim_eval.sampling import make_alphas_cumprod, sample
from ddim_eval.sampling.dpm import dpm_solver, dpm_solver_pp
from ddim_eval.sampling.oracle import demo_mixture, mixture_eps_model
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import fast_orders
from ddim_eval.sampling.times import continuous_grid, discrete_grid, grid_at, karras_grid, time_of_lambda

ALPHAS = make_alphas_cumprod()
EPS = mixture_eps_model(demo_mixture((4,)), ALPHAS)
X_T = torch.randn(8, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
PREDICTION = {"dpmsolver++": "data", "dpmsolver": "noise"}


# algorithm_type="dpmsolver" is deprecated in diffusers (still there); its set_timesteps warns under numpy 2.
pytestmark = [pytest.mark.filterwarnings("ignore:.*algorithm_type.*dpmsolver.*:FutureWarning"),
              pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")]


def multistep_scheduler(steps, **config):
    scheduler = DPMSolverMultistepScheduler(**config)
    scheduler.set_timesteps(steps)
    return scheduler


def singlestep_scheduler(steps, **config):
    # diffusers allows "dpmsolver" only with final_sigmas_type="sigma_min"
    scheduler = DPMSolverSinglestepScheduler(algorithm_type="dpmsolver", final_sigmas_type="sigma_min", **config)
    scheduler.set_timesteps(steps)
    return scheduler


def grid_of(scheduler):
    """Our TimeGrid through the scheduler's timesteps and its final node."""
    t = scheduler.timesteps.numpy().astype(np.float64)
    if scheduler.config.final_sigmas_type == "zero":
        return grid_at(ALPHAS, t, to_data=True)
    return grid_at(ALPHAS, np.append(t, 0.0), to_data=False)


def peer(scheduler, nodes=None, heun_where=None):
    """The loop a diffusers user writes, at `nodes` (a TimeGrid with as many nodes as the scheduler's; default:
    `grid_of(scheduler)`, its own): float64 sigma / alpha for its `sigmas`, and the model queried at the nodes'
    times. `heun_where(step_index, order)`: the steps that use solver_type="heun" instead of "midpoint"."""
    nodes = grid_of(scheduler) if nodes is None else nodes
    assert len(nodes.t) == len(scheduler.sigmas)
    scheduler.sigmas = torch.from_numpy(nodes.sigma / nodes.alpha)
    times = torch.from_numpy(nodes.t[:-1])
    if heun_where is not None:
        update = scheduler.singlestep_dpm_solver_update

        def switched(outputs, *args, sample=None, order=None, noise=None, **kwargs):
            heun = heun_where(scheduler.step_index, order)
            scheduler.register_to_config(solver_type="heun" if heun else "midpoint")
            return update(outputs, *args, sample=sample, order=order, noise=noise, **kwargs)

        scheduler.singlestep_dpm_solver_update = switched
    x = X_T
    scheduler.set_begin_index(0)
    for t, t_model in zip(scheduler.timesteps, times):
        x = scheduler.step(EPS(x, t_model.expand(len(x))), t, x).prev_sample
    return x


def blocks(order_list):
    """diffusers' singlestep order list ([1, 2, 3, 1, 2, ...]: one entry per grid step) as our per-step orders."""
    return tuple(o for i, o in enumerate(order_list) if i + 1 == len(order_list) or order_list[i + 1] == 1)


def max_diff(a, b):
    return (a - b).abs().max().item()


# --- agreement where the conventions meet


@pytest.mark.parametrize("algorithm", ["dpmsolver++", "dpmsolver"])
@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("steps", [5, 8, 20])
def test_multistep_matches_diffusers(algorithm, order, steps):
    # At 5 and 8 steps both lower the final orders (the authors below 10 steps, diffusers below 15); at 20
    # neither does. "dpmsolver" needs "sigma_min" in diffusers; "dpmsolver++" takes diffusers' default ("zero").
    # Measured max |diff| 2.9e-7 (diffusers' float32 cast of x each step).
    final = "zero" if algorithm == "dpmsolver++" else "sigma_min"
    scheduler = multistep_scheduler(steps, algorithm_type=algorithm, solver_order=order, final_sigmas_type=final)
    ours = dpm_solver_pp(EPS, X_T, grid_of(scheduler), order=order, lower_order_final=True,
                                prediction=PREDICTION[algorithm])
    assert torch.isfinite(ours).all()
    assert max_diff(ours, peer(scheduler)) < 1e-5


@pytest.mark.parametrize("order", [1, 2])
@pytest.mark.parametrize("steps", [7, 8])
@pytest.mark.parametrize("lower_order_final", [True, False])
def test_singlestep_matches_diffusers_on_its_grid(order, steps, lower_order_final):
    # diffusers' singlestep takes its intermediate nodes on its grid: our dpm_solver does on a grid of
    # sum(orders) steps. Same per-step orders (its order list's blocks). Measured max |diff| 7e-15.
    scheduler = singlestep_scheduler(steps, solver_order=order, lower_order_final=lower_order_final)
    ours = dpm_solver(EPS, X_T, grid_of(scheduler), orders=blocks(scheduler.order_list))
    assert max_diff(ours, peer(scheduler)) < 1e-5


def test_fast_orders_are_the_authors_and_diffusers_lower_order_final_blocks():
    # The authors' get_orders_and_timesteps_for_singlestep_solver, from their docstring's table.
    assert fast_orders(6, 3) == (3, 2, 1) and fast_orders(7, 3) == (3, 3, 1) and fast_orders(8, 3) == (3, 3, 2)
    assert fast_orders(6, 2) == (2, 2, 2) and fast_orders(7, 2) == (2, 2, 2, 1) and fast_orders(5, 1) == (1,) * 5
    for budget in range(3, 31):
        assert sum(fast_orders(budget, 3)) == budget
        # diffusers' singlestep order list with lower_order_final is the same schedule for order 3 (any budget)
        # and for order 2 at odd budgets; at even ones it ends [..., 1, 1] (next test).
        assert blocks(singlestep_scheduler(budget, solver_order=3, lower_order_final=True).order_list) \
            == fast_orders(budget, 3)
        if budget % 2:
            assert blocks(singlestep_scheduler(budget, solver_order=2, lower_order_final=True).order_list) \
                == fast_orders(budget, 2)


# --- where the conventions part: differ, align one point, agree


def x_s2_aligned(order_list):
    """heun_where for `peer`: solver_type="heun" on the order-2 sub-steps of third-order blocks (see below)."""
    return lambda i, order: order == 2 and i + 1 < len(order_list) and order_list[i + 1] == 3


def test_singlestep_third_order_intermediate_value():
    """DPM-Solver-3 ('dpmsolver' type) takes its second intermediate value x_s2 by the phi_2 form
    x_s2 = a x - sigma_s2 (e^{r2 h} - 1) eps_s - (r2 / r1) sigma_s2 ((e^{r2 h} - 1) / (r2 h) - 1) (eps_s1 - eps_s);
    diffusers' order-2 sub-step of a third-order block is its second-order midpoint step (coefficient
    (e^{r2 h} - 1) / 2 on the difference). solver_type="heun" on that sub-step alone (midpoint elsewhere: its
    third-order midpoint update is the authors') gives the authors' x_s2."""
    scheduler = singlestep_scheduler(8, solver_order=3, lower_order_final=True)
    orders = blocks(scheduler.order_list)
    assert orders == fast_orders(8, 3) == (3, 3, 2)
    ours = dpm_solver(EPS, X_T, grid_of(scheduler), orders=orders)
    assert max_diff(ours, peer(scheduler)) > 1e-2  # measured 3.4e-2
    aligned = singlestep_scheduler(8, solver_order=3, lower_order_final=True)
    assert max_diff(ours, peer(aligned, heun_where=x_s2_aligned(aligned.order_list))) < 1e-5  # measured 2e-14


@pytest.mark.parametrize("order, budget, lower_order_final", [(2, 8, True), (3, 9, False)])
def test_singlestep_order_list_and_the_fast_schedule(order, budget, lower_order_final):
    """diffusers' singlestep order list departs from the authors' fast schedule in two cases: order 2 with
    lower_order_final (which its final_sigmas_type="zero" forces) at an even budget splits the last second-order
    step in two first-order ones, (..., 2, 1, 1); order 3 without it (its default) at a budget divisible by 3 keeps
    third order to the end, (3, 3, 3) where the authors take (3, 3, 2, 1). Flipping lower_order_final gives the
    authors' schedule (third-order blocks with the x_s2 alignment of the previous test throughout)."""
    scheduler = singlestep_scheduler(budget, solver_order=order, lower_order_final=lower_order_final)
    assert blocks(scheduler.order_list) != fast_orders(budget, order)
    ours = dpm_solver(EPS, X_T, grid_of(scheduler), orders=fast_orders(budget, order))
    # They part in the last steps into t = 0, large in lambda: some samples land in another mode of the narrow
    # mixture, O(1) apart.
    assert max_diff(ours, peer(scheduler, heun_where=x_s2_aligned(scheduler.order_list))) > 0.1  # measured 1.4, 0.44
    aligned = singlestep_scheduler(budget, solver_order=order, lower_order_final=not lower_order_final)
    assert blocks(aligned.order_list) == fast_orders(budget, order)
    assert max_diff(ours, peer(aligned, heun_where=x_s2_aligned(aligned.order_list))) < 1e-5  # measured 7e-15


@pytest.mark.parametrize("order, steps", [(2, 10), (3, 9)])
def test_singlestep_intermediate_nodes_at_r_h(order, steps):
    """The authors (logSNR spacing) place DPM-Solver-2's intermediate node at lambda_s + h / 2 and DPM-Solver-3's at
    lambda_s + h / 3, + 2h / 3, between the nodes of a grid of len(orders) steps; diffusers takes the grid nodes
    between. Same outer nodes (diffusers' at the block ends); moving diffusers' intermediate nodes to ours makes
    them agree (for order 3 with the x_s2 alignment of the previous test)."""
    scheduler = singlestep_scheduler(steps, solver_order=order, lower_order_final=False)
    orders = blocks(scheduler.order_list)
    assert orders == (order,) * (steps // order)
    full = grid_of(scheduler)
    outer = grid_at(ALPHAS, full.t[::order], to_data=False)
    ours = dpm_solver(EPS, X_T, outer, orders=orders)
    assert max_diff(ours, peer(scheduler)) > 0.1  # measured 2.1 (order 2), 1.8 (order 3)
    lam = outer.lambdas
    r = np.arange(order + 1) / order
    t_nodes = [time_of_lambda(ALPHAS, lam[k] + r[:-1] * (lam[k + 1] - lam[k])) for k in range(len(orders))]
    nodes = grid_at(ALPHAS, np.append(np.concatenate(t_nodes), 0.0), to_data=False)
    aligned = singlestep_scheduler(steps, solver_order=order, lower_order_final=False)
    assert max_diff(ours, peer(aligned, nodes, heun_where=x_s2_aligned(aligned.order_list))) < 1e-5  # measured 7e-15, 2.4e-13


@pytest.mark.parametrize("order", [2, 3])
def test_lower_order_final_threshold(order):
    """lower_order_final lowers the last orders only below 10 steps in the authors' code (`steps < 10`), below 15
    in diffusers (and the authors' docstring): at 12 steps the authors keep the full order to the end.
    diffusers with lower_order_final=False (final node t = 0, so nothing else forces a first-order last step)
    then agrees."""
    scheduler = multistep_scheduler(12, solver_order=order, final_sigmas_type="sigma_min", lower_order_final=True)
    ours = dpm_solver_pp(EPS, X_T, grid_of(scheduler), order=order, lower_order_final=True)
    assert max_diff(ours, dpm_solver_pp(EPS, X_T, grid_of(scheduler), order=order, lower_order_final=False)) == 0
    assert max_diff(ours, peer(scheduler)) > 0.1  # measured 0.63 (2M), 1.9 (3M)
    aligned = multistep_scheduler(12, solver_order=order, final_sigmas_type="sigma_min", lower_order_final=False)
    assert max_diff(ours, peer(aligned)) < 1e-5  # measured 1.7e-7, 6.1e-7


def test_final_node_clean_data_or_t0():
    """The authors' grid for discrete-time models ends at tau = 1/N, network time 0 (sigma ~ 0.01); diffusers'
    default (final_sigmas_type="zero") ends at the clean data, its last step first order (the data prediction).
    Ending our grid at the clean data instead makes them agree."""
    scheduler = multistep_scheduler(20, solver_order=2)
    t = scheduler.timesteps.numpy().astype(np.float64)
    authors = dpm_solver_pp(EPS, X_T, grid_at(ALPHAS, np.append(t, 0.0), to_data=False), order=2)
    assert max_diff(authors, peer(scheduler)) > 1e-2  # measured 0.16
    to_data = dpm_solver_pp(EPS, X_T, grid_at(ALPHAS, t, to_data=True), order=2)
    assert max_diff(to_data, peer(multistep_scheduler(20, solver_order=2))) < 1e-5  # measured 4.1e-8


def test_integer_or_continuous_times():
    """The authors' time_uniform grid puts the network at t = (tau - 1/N) N, tau uniform in [1/N, 1]: fractional
    times (999, 856.29, ...); diffusers' "linspace" timesteps are those times rounded to integers. Rounding our
    times makes them agree (7 steps: no time falls on a half, where the two roundings could part)."""
    scheduler = multistep_scheduler(7, solver_order=2, final_sigmas_type="sigma_min")
    grid = continuous_grid(ALPHAS, 7, "time_uniform")
    ours = dpm_solver_pp(EPS, X_T, grid, order=2)
    assert max_diff(ours, peer(scheduler)) > 1e-4  # measured 8.0e-4
    rounded = np.round(grid.t)
    assert rounded[:-1].tolist() == scheduler.timesteps.tolist() and rounded[-1] == 0
    aligned = dpm_solver_pp(EPS, X_T, grid_at(ALPHAS, rounded, to_data=False), order=2)
    assert max_diff(aligned, peer(multistep_scheduler(7, solver_order=2, final_sigmas_type="sigma_min"))) < 1e-5  # 4.1e-8


# --- the authors' conventions in our grids


def test_continuous_grid_is_the_authors_get_time_steps():
    # get_time_steps from t_T = 1 to t_0 = 1/N, network input (t - 1/N) * 1000 (N = 1000 here).
    N = len(ALPHAS)
    tau = {"time_uniform": np.linspace(1.0, 1.0 / N, 7), "time_quadratic": np.linspace(1.0, (1.0 / N) ** 0.5, 7) ** 2}
    for spacing, expected in tau.items():
        np.testing.assert_allclose(continuous_grid(ALPHAS, 6, spacing).t, (expected - 1.0 / N) * 1000, atol=1e-9)
    lam = continuous_grid(ALPHAS, 6, "logSNR").lambdas
    ends = grid_at(ALPHAS, np.array([N - 1.0, 0.0]), to_data=False).lambdas
    np.testing.assert_allclose(lam, np.linspace(*ends, 7), atol=1e-12)


def test_r_h_nodes_are_the_fine_logsnr_grid():
    # Fixed-order singlestep on the logSNR spacing: intermediate nodes at r h of a K-step grid are the nodes of
    # the K * order-step grid, so both placements give the same sampler there (the authors' singlestep_fixed).
    for order in (2, 3):
        orders = (order,) * 4
        coarse = dpm_solver(EPS, X_T, continuous_grid(ALPHAS, 4, "logSNR"), orders=orders)
        fine = dpm_solver(EPS, X_T, continuous_grid(ALPHAS, 4 * order, "logSNR"), orders=orders)
        assert max_diff(coarse, fine) < 1e-10


def test_bad_grids_and_orders_fail_before_any_evaluation():
    def never(x, t):
        raise AssertionError("evaluated")

    with pytest.raises(ValueError, match="need a grid of 2 steps .* or 5"):
        dpm_solver(never, X_T, continuous_grid(ALPHAS, 3, "logSNR"), orders=(3, 2))
    with pytest.raises(ValueError, match="orders"):
        dpm_solver(never, X_T, continuous_grid(ALPHAS, 1, "logSNR"), orders=(4,))
    repeated = grid_at(ALPHAS, np.array([999.0, 500.0, 500.0, 0.0]), to_data=False)
    with pytest.raises(ValueError, match="strictly increasing log-SNR"):
        dpm_solver_pp(never, X_T, repeated, order=2)
    with pytest.raises(ValueError, match="prediction"):
        dpm_solver_pp(never, X_T, repeated, order=2, lower_order_final=True, prediction="v")


def test_order_one_is_ddim():
    # DPM-Solver-1 is DDIM (eta = 0) for either prediction, on DDIM's own grid (integer tau, then the clean data).
    for S in (5, 10):
        grid = discrete_grid(ALPHAS, S, "linear")
        ddim = sample(EPS, X_T, grid)
        assert max_diff(dpm_solver(EPS, X_T, grid, orders=(1,) * S), ddim) < 1e-10
        for prediction in ("data", "noise"):
            x = dpm_solver_pp(EPS, X_T, grid, order=1, lower_order_final=True, prediction=prediction)
            assert max_diff(x, ddim) < 1e-10


def test_steps_into_the_clean_data_are_finite_and_first_order():
    # Discrete and Karras grids end at sigma = 0 (lambda = inf): that step returns the data prediction (one
    # evaluation, whatever the step's order), never NaN.
    calls = []

    def counting(x, t):
        calls.append(float(t[0]))
        return EPS(x, t)

    for grid in (discrete_grid(ALPHAS, 4, "linear"), karras_grid(ALPHAS, 4)):
        calls.clear()
        x = dpm_solver(counting, X_T, grid, orders=(3, 3, 3, 3))
        assert torch.isfinite(x).all() and len(calls) == 3 * 3 + 1
        for order in (2, 3):
            for prediction in ("data", "noise"):
                x = dpm_solver_pp(EPS, X_T, grid, order=order, lower_order_final=False, prediction=prediction)
                assert torch.isfinite(x).all()


def test_higher_orders_converge_faster():
    # Against a 3M run of 100 logSNR steps: at equal NFE the error falls with the order, DDIM's halves when the
    # NFE doubles (first order), DPM-Solver-3's falls faster than third order would (pre-asymptotic here).
    # Measured at NFE 24 / 48: DPM-Solver-1 5.6e-2 / 2.8e-2, -2 4.4e-3 (48), -3 1.3e-2 / 7.1e-4.
    reference = dpm_solver_pp(EPS, X_T, continuous_grid(ALPHAS, 100, "logSNR"), order=3)
    errors = {}
    for nfe, order in [(24, 1), (48, 1), (48, 2), (24, 3), (48, 3)]:
        orders = fast_orders(nfe, order)
        x = dpm_solver(EPS, X_T, continuous_grid(ALPHAS, len(orders), "logSNR"), orders=orders)
        errors[nfe, order] = max_diff(x, reference)
    assert errors[48, 1] > errors[48, 2] > errors[48, 3]
    assert 1.7 < errors[24, 1] / errors[48, 1] < 2.3
    assert errors[24, 3] / errors[48, 3] > 8


def test_dtype_is_kept():
    grid = continuous_grid(ALPHAS, 6, "logSNR")
    x32 = X_T.float()
    eps32 = lambda x, t: EPS(x.double(), t).float()  # noqa: E731
    assert dpm_solver(eps32, x32, grid, orders=(3, 3)).dtype == torch.float32
    assert dpm_solver_pp(eps32, x32, grid, order=3).dtype == torch.float32


# --- the registry's NFE


def counting_model():
    calls = []

    def eps_model(x, t):
        calls.append(tuple(t.shape))
        return EPS(x, t)

    return eps_model, calls


@pytest.mark.parametrize("entry", [
    {"name": "dpm_solver"},
    {"name": "dpm_solver", "params": {"order": 2}},
    {"name": "dpm_solver", "params": {"order": 1}},
    {"name": "dpm_solver", "params": {"order": 3, "method": "singlestep"}},
    {"name": "dpm_solver", "params": {"order": 2, "method": "singlestep"}},
    # Time spacings: the authors put every evaluation, intermediate ones included, on the grid.
    {"name": "dpm_solver", "spacing": "time_uniform"},
    {"name": "dpm_solver", "params": {"order": 2, "method": "singlestep"}, "spacing": "time_quadratic"},
    {"name": "dpm_solver_pp"},
    {"name": "dpm_solver_pp", "params": {"order": 3}},
    {"name": "dpm_solver_pp", "params": {"order": 1, "lower_order_final": False}},
])
def test_registry_nfe_is_exact(entry):
    for budget in (3, 4, 5, 6, 7, 10, 15):
        run = prepare(entry, budget, ALPHAS)
        eps_model, calls = counting_model()
        x = run(eps_model, X_T)
        assert len(calls) == run.nfe and all(shape == (len(X_T),) for shape in calls)
        assert torch.isfinite(x).all()
        fixed = entry.get("params", {}).get("method") == "singlestep"
        order = entry.get("params", {}).get("order", 3 if entry["name"] == "dpm_solver" else 2)
        assert run.nfe == (budget // order * order if fixed else budget)
        if entry["name"] == "dpm_solver":
            logsnr = entry.get("spacing", "logSNR") == "logSNR"
            assert run.grid.steps == (len(run.kwargs["orders"]) if logsnr else run.nfe)


@pytest.mark.parametrize("entry, budget", [
    ({"name": "dpm_solver"}, 2),
    ({"name": "dpm_solver", "params": {"order": 2}}, 1),
    ({"name": "dpm_solver", "params": {"order": 3, "method": "singlestep"}}, 2),
    ({"name": "dpm_solver_pp", "params": {"order": 3}}, 2),
    ({"name": "dpm_solver_pp"}, 1),
])
def test_registry_refuses_too_small_budgets(entry, budget):
    with pytest.raises(ValueError, match="too small"):
        prepare(entry, budget, ALPHAS)
