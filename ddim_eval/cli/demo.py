"""`ddim-eval demo` (the demo world's grid in one process) and `ddim-eval oracle` (the exact-model sampler check)."""

from __future__ import annotations

import argparse
import time

from ddim_eval.cli.args import count, parse_eta, positive, sample_count
from ddim_eval.sampling.times import DISCRETE_SPACINGS

_ETAS = [0.0, 0.2, 0.5, 1.0, "sigma_hat"]


def _demo(args: argparse.Namespace) -> None:
    from ddim_eval.experiment.demo import run_demo

    start = time.perf_counter()
    print(f"Demo world: the packaged digits DDPM (8x8, T=1000), {args.n} samples per cell from shared x_T, scored "
          f"against the digits train split. FID here is digits-cnn FID (the demo CNN's 64-d features), not "
          f"Inception FID. Outputs under {args.out_dir}.\n", flush=True)
    result = run_demo(args.out_dir, steps=args.steps, etas=args.eta, n=args.n, recon_steps=args.recon_steps,
                      spacing=args.spacing, shard=args.shard, batch_size=args.batch_size, progress=True)
    print("| S | eta | digits-cnn FID | digits-cnn KID | s per image per step |")
    print("|---|---|---|---|---|")
    for r in result["fid"]:
        print(f"| {r['S']} | {r['eta']} | {r['fid']:.3f} | {r['kid_mean']:.1f} ± {r['kid_std']:.1f} | "
              f"{r['seconds_per_image_per_step']:.2e} |")
    print(f"\nFloor: the held-out test split's own digits-cnn FID against the train split is "
          f"{result['test_split_fid']:.3f} (360 images).\n")
    print("| S | reconstruction MSE (test split, [0, 1] scale) | std over images | sem |")
    print("|---|---|---|---|")
    for r in result["recon"]:
        print(f"| {r['S']} | {r['mse']:.3e} | {r['std']:.2e} | {r['sem']:.1e} |")
    print(f"\n{time.perf_counter() - start:.0f} s; numbers in {args.out_dir}/demo.json")


def _oracle(args: argparse.Namespace) -> None:
    from ddim_eval.sampling.oracle import oracle_sweep

    print(f"Exact-oracle demo: a 3-mode Gaussian mixture in 4 dimensions, its optimal eps in closed form, "
          f"{args.n} samples per cell from shared x_T, {args.spacing} tau.")
    print("Errors are |mean - mu| and |cov - Sigma|_F against the exact moments; recon is encode-then-decode "
          "per-dimension MSE on the [0, 1] scale (eta = 0).\n")
    print("| S | eta | evals | distinct t | mean error | cov error | recon MSE |")
    print("|---|---|---|---|---|---|---|")
    for r in oracle_sweep(args.steps, args.eta, args.spacing, args.n, args.seed):
        recon = f"{r['recon_mse']:.2e}" if r["recon_mse"] is not None else ""
        print(f"| {r['S']} | {r['eta']} | {r['nfe']} | {r['distinct']} | {r['mean_error']:.4f} | "
              f"{r['cov_error']:.4f} | {recon} |", flush=True)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the demo world: digits DDPM FID across S and eta, reconstruction (CPU, minutes)")
    p.add_argument("--out", dest="out_dir", default="results/demo-cli", help="the folder cell outputs go to")
    p.add_argument("--steps", type=positive, nargs="+", default=[10, 20, 50, 100])
    p.add_argument("--eta", type=parse_eta, nargs="+", default=_ETAS)
    p.add_argument("--recon-steps", type=positive, nargs="*", default=[10, 20, 50, 100])
    p.add_argument("--spacing", choices=list(DISCRETE_SPACINGS), default=None)
    p.add_argument("--n", type=sample_count, default=2000, help="samples per cell")
    p.add_argument("--shard", type=count, default=0, help="which x_T (another shard: an independent repeat)")
    p.add_argument("--batch-size", type=positive, default=500)
    p.set_defaults(func=_demo)

    p = sub.add_parser("oracle", help="sample an exact Gaussian-mixture oracle across S and eta (CPU, seconds)")
    p.add_argument("--steps", type=positive, nargs="+", default=[10, 20, 50, 100])
    p.add_argument("--eta", type=parse_eta, nargs="+", default=_ETAS)
    p.add_argument("--spacing", choices=list(DISCRETE_SPACINGS), default="linear")
    p.add_argument("--n", type=positive, default=20000, help="samples per cell")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_oracle)
