"""Convergence order of every sampler on the exact Gaussian-mixture oracle (`benchmarks/convergence_study.py`).

Two mixtures, same samplers, same x_T: "smooth" (`demo_mixture`'s means and weights with its stds widened 4x; the one
tests/sampling/test_convergence.py asserts) and "demo" (`demo_mixture` itself, stds 0.05-0.2, whose near-discontinuous
flow between modes makes single points of x_T switch modes under coarse solves). Slopes are fitted over NFE 35-350;
the plot shows NFE 10-1280 (discrete grids: S = 10-500 steps of the paper's linear tau).

Prints the slope tables as Markdown and writes <out>.json, <out>.md and <out>.png.

Usage: python benchmarks/convergence_order.py [--dim 8] [--n 256] [--seed 0] [--threads 1]
       [--out benchmarks/results/convergence_order]
"""

from __future__ import annotations

import argparse
import platform
import time

import torch
from convergence_study import (
    convergence_figure,
    convergence_study,
    default_cases,
    slope_table,
    study_mixture,
)

from ddim_eval.io import atomic_path, save_json
from ddim_eval.report.figures import save_figure

BUDGETS = (10, 20, 40, 80, 160, 320, 640, 1280)
DISCRETE_STEPS = (10, 20, 25, 40, 50, 100, 125, 200, 250, 500)
REFERENCE_STEPS = 4000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dim", type=int, default=8)
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (the tensors are tiny: more only wait)")
    parser.add_argument("--out", default="benchmarks/results/convergence_order")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    mixtures = {"smooth (demo_mixture, stds x4)": study_mixture(args.dim),
                "demo (demo_mixture, stds 0.05-0.2)": study_mixture(args.dim, 1.0)}
    records, lines = {}, [f"CPU {platform.processor() or platform.machine()}, torch {torch.__version__}, "
                          f"{torch.get_num_threads()} threads"]
    for name, mixture in mixtures.items():
        start = time.perf_counter()
        record = convergence_study(default_cases(BUDGETS, DISCRETE_STEPS), mixture=mixture, n=args.n, seed=args.seed,
                                   reference_steps=REFERENCE_STEPS)
        record["setting"]["seconds"] = round(time.perf_counter() - start, 1)
        records[name] = record
        s = record["setting"]
        lines += ["", f"### {name}", "",
                  f"n = {s['n']} points in D = {s['dim']}, seed {s['seed']}, stds {s['stds']}; reference: "
                  f"{s['reference']}, error bound {s['reference_error_bound']:.1e}; {s['seconds']} s.", "",
                  slope_table(record)]
        print("\n".join(lines[-5:]), flush=True)
    save_json(f"{args.out}.json", {"platform": lines[0], "mixtures": records})
    with atomic_path(f"{args.out}.md") as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    save_figure(convergence_figure(records), args.out)


if __name__ == "__main__":
    main()
