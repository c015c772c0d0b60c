"""Coverage of the bootstrap intervals on synthetic Gaussian features (ddim_eval.metrics.coverage): how often the
95% interval of FID covers E[FID_n], the paired interval covers E[FID_n(A)] - E[FID_n(B)], and (with
--fid-infinity) the FID_inf interval covers the population FID; with the percentile interval measured beside ours.

Usage: python benchmarks/bootstrap_coverage.py --n 1000 --d 64 --trials 400 --n-boot 200 [--device cuda]
           [--fid-infinity] [--out results/coverage_<setting>.json]
"""

from __future__ import annotations

import argparse
import json
import time

from interval_coverage import GaussianCells, measure_coverage, measure_infinity_coverage

from ddim_eval.io import save_json


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--trials", type=int, default=400)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--draws", type=int, default=2000, help="independent draws that estimate E[FID_n]")
    parser.add_argument("--correlation", type=float, default=0.9, help="latent correlation of the paired cells")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--fid-infinity", action="store_true", help="measure the FID_inf interval instead")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    cells = GaussianCells(args.d, args.correlation, seed=0)
    start = time.perf_counter()
    if args.fid_infinity:
        result = measure_infinity_coverage(cells, args.n, trials=args.trials, n_boot=args.n_boot)
    else:
        result = measure_coverage(cells, args.n, trials=args.trials, n_boot=args.n_boot, draws=args.draws,
                                  device=args.device)
    result |= {"correlation": args.correlation, "seconds": time.perf_counter() - start}
    print(json.dumps(result, indent=2))
    if args.out:
        save_json(args.out, result)


if __name__ == "__main__":
    main()
