"""DPM-Solver++(3M) in diffusers converges with order 2, not 3; weighting D2 by 2 phi_3 makes it order 3.

A self-contained reproduction (numpy, torch and diffusers only) for a diffusers bug report. The data are a Gaussian
mixture in D = 3, so the optimal noise prediction eps*(x, sigma) is exact, in float64. Every solve starts from the
same x_T; its error is the RMS, over all points and coordinates, of its end point minus the exact solution of the
same probability-flow ODE from the scheduler's first node to its last (the ODE in lambda = log(alpha / sigma)
depends on the schedule only through those two nodes). The reference is RK4 in lambda in float64 (its error bound,
the RMS difference from RK4 at half the steps, is printed); for a single Gaussian the end point is in closed form.

Two schedulers, everything else identical: diffusers' `DPMSolverMultistepScheduler(solver_order=3,
algorithm_type="dpmsolver++", lower_order_final=False, final_sigmas_type="sigma_min")`, and a subclass whose
`multistep_dpm_solver_third_order_update` multiplies the D2 term by 2 (`D2_WEIGHT`; checked: with 1.0 the subclass
reproduces diffusers bit for bit).

Grids ("steps" is num_inference_steps; the first two steps are diffusers' first- and second-order warm-up):
- lambda-uniform (the headline): `trained_betas` with lambda linear in t from 4.6 to -5 over 961 training steps, so
  "linspace" puts every node on an integer timestep exactly, uniform in lambda, for every step count dividing 960.
- the same grid with one Gaussian: the end point in closed form.
- karras: diffusers' default linear betas with use_karras_sigmas=True (sigma_min is repeated at the end, so the last
  step has length 0; euler_at_final=True keeps it a first-order no-op; the third-order update would divide by h = 0).
  The oracle is evaluated at the scheduler's sigma (diffusers hands the model a rounded timestep).
- linear-beta linspace: diffusers' default betas and spacing. Its lambda-steps near t = 0 shrink only like
  log(1 + 999 / steps), so at these step counts it measures the last steps, not the order.

diffusers' dtypes: betas and alphas_cumprod are float32 whatever is passed, and so are `sigmas` after set_timesteps
(we upcast them to float64, values unchanged, so the coefficients are computed in float64); step() rounds `sample` to
float32 before each update (its result is float64 again, as the model outputs are). The float32 rounding of x is
measured below by the same updates called without step()'s cast.

Usage: python benchmarks/dpmpp_3m_diffusers.py [--out benchmarks/results/dpmpp_3m_diffusers]
Writes <out>.json and <out>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import diffusers
import numpy as np
import torch
from diffusers import DPMSolverMultistepScheduler

STEPS = (20, 24, 30, 40, 48, 60, 80, 96, 120, 160)
N_POINTS, SEED = 256, 0
REF_STEPS = 2000  # RK4 steps in lambda for the reference (its bound: against REF_STEPS // 2)

# The data: a 3-component Gaussian mixture in D = 3 (weights, means, isotropic stds).
WEIGHTS = torch.tensor([0.3, 0.5, 0.2], dtype=torch.float64)
MEANS = torch.tensor([[-1.0, 0.5, 0.0], [1.0, -0.5, 0.5], [0.0, 1.0, -1.0]], dtype=torch.float64)
STDS = torch.tensor([0.5, 0.75, 0.375], dtype=torch.float64)
GAUSSIAN = (WEIGHTS[:1] / WEIGHTS[0], MEANS[:1], STDS[:1])

BASE = {"solver_order": 3, "algorithm_type": "dpmsolver++", "prediction_type": "epsilon", "lower_order_final": False,
        "final_sigmas_type": "sigma_min", "euler_at_final": False, "timestep_spacing": "linspace"}


def lambda_uniform_betas(num_train_timesteps: int = 961, lam_max: float = 4.6, lam_min: float = -5.0) -> np.ndarray:
    """Betas whose alphas_cumprod = sigmoid(2 lambda) with lambda linear in t, from lam_max at t = 0 to lam_min."""
    alphas_cumprod = 1.0 / (1.0 + np.exp(-2.0 * np.linspace(lam_max, lam_min, num_train_timesteps)))
    return 1.0 - alphas_cumprod / np.concatenate([[1.0], alphas_cumprod[:-1]])


CASES = {  # name: (scheduler settings beyond BASE, data)
    "lambda-uniform": ({"num_train_timesteps": 961, "trained_betas": lambda_uniform_betas()}, None),
    "lambda-uniform, one Gaussian (exact end point)": ({"num_train_timesteps": 961,
                                                        "trained_betas": lambda_uniform_betas()}, GAUSSIAN),
    "karras": ({"use_karras_sigmas": True, "euler_at_final": True}, None),
    "linear-beta linspace": ({}, None),
}


class CorrectedDPMSolverMultistepScheduler(DPMSolverMultistepScheduler):
    """diffusers' scheduler with the D2 term of the third-order dpmsolver++ update weighted D2_WEIGHT * phi_3.

    The body is diffusers' dpmsolver++ branch of `multistep_dpm_solver_third_order_update`, with one change marked.
    """

    D2_WEIGHT = 2.0

    def multistep_dpm_solver_third_order_update(self, model_output_list, *args, sample=None, noise=None, **kwargs):
        if self.config.algorithm_type != "dpmsolver++" or args or kwargs or sample is None:
            raise NotImplementedError("this reproduction overrides the dpmsolver++ update as step() calls it")
        sigma_t, sigma_s0, sigma_s1, sigma_s2 = (
            self.sigmas[self.step_index + 1],
            self.sigmas[self.step_index],
            self.sigmas[self.step_index - 1],
            self.sigmas[self.step_index - 2],
        )
        alpha_t, sigma_t = self._sigma_to_alpha_sigma_t(sigma_t)
        alpha_s0, sigma_s0 = self._sigma_to_alpha_sigma_t(sigma_s0)
        alpha_s1, sigma_s1 = self._sigma_to_alpha_sigma_t(sigma_s1)
        alpha_s2, sigma_s2 = self._sigma_to_alpha_sigma_t(sigma_s2)
        lambda_t = torch.log(alpha_t) - torch.log(sigma_t)
        lambda_s0 = torch.log(alpha_s0) - torch.log(sigma_s0)
        lambda_s1 = torch.log(alpha_s1) - torch.log(sigma_s1)
        lambda_s2 = torch.log(alpha_s2) - torch.log(sigma_s2)
        m0, m1, m2 = model_output_list[-1], model_output_list[-2], model_output_list[-3]
        h, h_0, h_1 = lambda_t - lambda_s0, lambda_s0 - lambda_s1, lambda_s1 - lambda_s2
        r0, r1 = h_0 / h, h_1 / h
        D0 = m0
        D1_0, D1_1 = (1.0 / r0) * (m0 - m1), (1.0 / r1) * (m1 - m2)
        D1 = D1_0 + (r0 / (r0 + r1)) * (D1_0 - D1_1)
        D2 = (1.0 / (r0 + r1)) * (D1_0 - D1_1)
        return (
            (sigma_t / sigma_s0) * sample
            - (alpha_t * (torch.exp(-h) - 1.0)) * D0
            + (alpha_t * ((torch.exp(-h) - 1.0) / h + 1.0)) * D1
            - self.D2_WEIGHT * (alpha_t * ((torch.exp(-h) - 1.0 + h) / h**2 - 0.5)) * D2  # diffusers: no D2_WEIGHT
        )


class UnchangedCopy(CorrectedDPMSolverMultistepScheduler):
    D2_WEIGHT = 1.0  # must reproduce diffusers exactly: shows the subclass changes nothing else


def x0_prediction(x, alpha, sigma, data):
    """E[x_0 | x_t = x] for the mixture `data` = (weights, means, stds), x_t = alpha x_0 + sigma eps."""
    weights, means, stds = data
    var = alpha**2 * stds**2 + sigma**2  # per component, isotropic
    d = x[:, None, :] - alpha * means[None]  # (n, K, D)
    log_p = torch.log(weights) - 0.5 * (d**2).sum(-1) / var - 0.5 * x.shape[1] * torch.log(var)
    resp = torch.softmax(log_p, dim=-1)
    return ((means[None] + (alpha * stds**2 / var)[None, :, None] * d) * resp[..., None]).sum(1)


def eps_model(x, sigma_ve, data):
    """The exact noise prediction at the scheduler's (VE) sigma = sigma_t / alpha_t."""
    alpha = 1.0 / (1.0 + sigma_ve**2) ** 0.5
    sigma = sigma_ve * alpha
    return (x - alpha * x0_prediction(x, alpha, sigma, data)) / sigma


def make_scheduler(cls, settings, steps):
    scheduler = cls(**{**BASE, **settings})
    scheduler.set_timesteps(steps)
    scheduler.sigmas = scheduler.sigmas.to(torch.float64)  # set_timesteps makes them float32; values unchanged
    return scheduler


def node_sigma(scheduler, i, settings):
    """The sigma the oracle sees at node i: on the integer-time grids sqrt((1 - abar_t) / abar_t) at timestep t."""
    sigma = scheduler.sigmas[i]
    if not settings.get("use_karras_sigmas"):
        abar = scheduler.alphas_cumprod[int(scheduler.timesteps[i])]
        assert sigma == ((1 - abar) / abar) ** 0.5, "the scheduler's sigma is not its timestep's"
    return sigma


def solve(cls, settings, steps, x_T, data):
    """The diffusers sampling loop; returns (x at the last node, first and last sigma)."""
    scheduler = make_scheduler(cls, settings, steps)
    x = x_T
    for i, t in enumerate(scheduler.timesteps):
        x = scheduler.step(eps_model(x, node_sigma(scheduler, i, settings), data), t, x).prev_sample
    return x, float(scheduler.sigmas[0]), float(scheduler.sigmas[-1])


def solve_without_float32_cast(cls, settings, steps, x_T, data):
    """Diagnostic: the updates step() would call (orders 1, 2, 3, 3, ...), without its float32 rounding of x."""
    scheduler = make_scheduler(cls, settings, steps)
    x = x_T
    for i in range(len(scheduler.timesteps)):
        scheduler._step_index = i
        output = scheduler.convert_model_output(eps_model(x, node_sigma(scheduler, i, settings), data), sample=x)
        scheduler.model_outputs = [*scheduler.model_outputs[1:], output]
        if i == 0:
            x = scheduler.dpm_solver_first_order_update(output, sample=x)
        elif i == 1:
            x = scheduler.multistep_dpm_solver_second_order_update(scheduler.model_outputs, sample=x)
        else:
            x = scheduler.multistep_dpm_solver_third_order_update(scheduler.model_outputs, sample=x)
    return x


def rk4_reference(x_T, sigma_first, sigma_last, data, n):
    """The probability-flow ODE dx/dlambda = -alpha^2 x + alpha x0(x, lambda), RK4 with n uniform lambda-steps."""
    lam, lam_end = -np.log(sigma_first), -np.log(sigma_last)  # lambda = log(alpha / sigma) = -log(sigma_VE)
    h = (lam_end - lam) / n

    def f(x, lam):
        alpha2 = 1.0 / (1.0 + np.exp(-2.0 * lam))
        alpha, sigma = alpha2**0.5, (1.0 - alpha2) ** 0.5
        return -alpha2 * x + alpha * x0_prediction(x, alpha, sigma, data)

    x = x_T
    for _ in range(n):
        k1 = f(x, lam)
        k2 = f(x + h / 2 * k1, lam + h / 2)
        k3 = f(x + h / 2 * k2, lam + h / 2)
        k4 = f(x + h * k3, lam + h)
        x, lam = x + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4), lam + h
    return x


def gaussian_end_point(x_T, sigma_first, sigma_last, data):
    """One Gaussian N(mu, s^2 I): (x - alpha mu) / sqrt(alpha^2 s^2 + sigma^2) is constant along the flow."""
    _, means, stds = data

    def alpha_var(sigma_ve):
        alpha = 1.0 / (1.0 + sigma_ve**2) ** 0.5
        return alpha, alpha**2 * stds[0] ** 2 + (sigma_ve * alpha) ** 2

    (a0, v0), (a1, v1) = alpha_var(sigma_first), alpha_var(sigma_last)
    return a1 * means[0] + (v1 / v0) ** 0.5 * (x_T - a0 * means[0])


def rms(a, b):
    return (a - b).pow(2).mean().sqrt().item()


def slopes(errors):
    log_n, log_e = np.log(STEPS), np.log(errors)
    fit = -np.polyfit(log_n, log_e, 1)[0]
    return float(fit), [float(s) for s in -np.diff(log_e) / np.diff(log_n)]


def run_case(name, settings, data, x_T):
    start = time.perf_counter()
    exact = data is not None
    data = data or (WEIGHTS, MEANS, STDS)
    _, sigma_first, sigma_last = solve(DPMSolverMultistepScheduler, settings, STEPS[0], x_T, data)
    if exact:
        reference = gaussian_end_point(x_T, sigma_first, sigma_last, data)
        bound = rms(rk4_reference(x_T, sigma_first, sigma_last, data, REF_STEPS), reference)
        how = f"closed form (RK4 with {REF_STEPS} steps agrees to {bound:.1e})"
    else:
        reference = rk4_reference(x_T, sigma_first, sigma_last, data, REF_STEPS)
        bound = rms(rk4_reference(x_T, sigma_first, sigma_last, data, REF_STEPS // 2), reference)
        how = f"RK4 in lambda, {REF_STEPS} steps, error bound {bound:.1e}"
    errors = {}
    for label, cls in (("authors", DPMSolverMultistepScheduler), ("corrected", CorrectedDPMSolverMultistepScheduler)):
        errors[label] = [rms(solve(cls, settings, n, x_T, data)[0], reference) for n in STEPS]
    fits = {label: slopes(e) for label, e in errors.items()}
    record = {
        "settings": {k: ("lambda linear in t, 4.6 to -5 (lambda_uniform_betas)" if k == "trained_betas" else v)
                     for k, v in settings.items()},
        "data": "one Gaussian" if exact else "3-component mixture",
        "lambda_range": [-np.log(sigma_first), -np.log(sigma_last)],
        "reference": how, "reference_error_bound": bound, "steps": list(STEPS),
        "error_authors": errors["authors"], "error_corrected": errors["corrected"],
        "slope_authors": fits["authors"][0], "slope_corrected": fits["corrected"][0],
        "local_slopes_authors": fits["authors"][1], "local_slopes_corrected": fits["corrected"][1],
        "seconds": round(time.perf_counter() - start, 2),
    }
    print(f"\n{name}: lambda {record['lambda_range'][0]:.2f} -> {record['lambda_range'][1]:.2f}; reference: {how}")
    print(f"{'steps':>6} {'authors':>10} {'corrected':>10}")
    for n, a, c in zip(STEPS, errors["authors"], errors["corrected"]):
        print(f"{n:>6} {a:>10.3e} {c:>10.3e}")
    for label in ("authors", "corrected"):
        print(f"{label:>9}: fitted slope {fits[label][0]:.2f}; local slopes "
              + " ".join(f"{s:.2f}" for s in fits[label][1]))
    return record


def markdown(result):
    lines = [f"diffusers {result['diffusers']} `DPMSolverMultistepScheduler` with solver_order=3, "
             f"algorithm_type=\"dpmsolver++\", lower_order_final=False, final_sigmas_type=\"sigma_min\" (\"authors\"), "
             f"against the same with D2 weighted 2 phi_3 (\"corrected\"); torch {result['torch']}, float64 (x rounded "
             f"to float32 inside step(): {result['float32_rounding']:.1e} RMS at {STEPS[-1]} steps); "
             f"{N_POINTS} points in D = 3, seed {SEED}; RMS error of the end point; {result['seconds']} s on "
             f"{result['platform']}.", ""]
    for name, c in result["cases"].items():
        s = ", ".join(f"{k}={v}" for k, v in c["settings"].items()) or "diffusers' default linear betas"
        lines += [f"### {name}", "",
                  f"{c['data']}; {s}; lambda {c['lambda_range'][0]:.2f} to {c['lambda_range'][1]:.2f}; "
                  f"reference: {c['reference']}.", "",
                  "| steps | error, authors | error, corrected | authors / corrected |", "|---|---|---|---|"]
        lines += [f"| {n} | {a:.3e} | {b:.3e} | {a / b:.2f} |"
                  for n, a, b in zip(c["steps"], c["error_authors"], c["error_corrected"])]
        lines += [f"| fitted slope, {c['steps'][0]}-{c['steps'][-1]} | {c['slope_authors']:.2f} | "
                  f"{c['slope_corrected']:.2f} | |",
                  "| local slopes | " + " ".join(f"{x:.2f}" for x in c["local_slopes_authors"]) + " | "
                  + " ".join(f"{x:.2f}" for x in c["local_slopes_corrected"]) + " | |", ""]
    return "\n".join(lines)


def write_atomic(path, text):
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="benchmarks/results/dpmpp_3m_diffusers")
    args = parser.parse_args()
    torch.set_num_threads(1)  # tiny tensors
    start = time.perf_counter()
    x_T = torch.randn(N_POINTS, 3, generator=torch.Generator().manual_seed(SEED), dtype=torch.float64)
    data = (WEIGHTS, MEANS, STDS)
    settings = CASES["lambda-uniform"][0]

    same = solve(UnchangedCopy, settings, STEPS[0], x_T, data)[0]
    assert torch.equal(same, solve(DPMSolverMultistepScheduler, settings, STEPS[0], x_T, data)[0]), \
        "the subclass with D2_WEIGHT = 1 should reproduce diffusers exactly; its update differs from this diffusers'"
    f32 = rms(solve(CorrectedDPMSolverMultistepScheduler, settings, STEPS[-1], x_T, data)[0],
              solve_without_float32_cast(CorrectedDPMSolverMultistepScheduler, settings, STEPS[-1], x_T, data))
    print(f"diffusers {diffusers.__version__}, torch {torch.__version__}; step()'s float32 rounding of x changes the "
          f"end point by {f32:.1e} RMS at {STEPS[-1]} steps (lambda-uniform grid, corrected)")

    cases = {name: run_case(name, s, d, x_T) for name, (s, d) in CASES.items()}
    result = {"diffusers": diffusers.__version__, "torch": torch.__version__, "numpy": np.__version__,
              "platform": f"CPU {platform.machine()}, 1 thread", "scheduler": BASE, "n_points": N_POINTS,
              "seed": SEED, "float32_rounding": f32, "cases": cases,
              "seconds": round(time.perf_counter() - start, 1)}
    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    write_atomic(f"{args.out}.json", json.dumps(result, indent=1) + "\n")
    write_atomic(f"{args.out}.md", markdown(result) + "\n")
    print(f"\n{result['seconds']} s; wrote {args.out}.json and {args.out}.md")


if __name__ == "__main__":
    main()
