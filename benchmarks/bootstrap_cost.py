"""Cost of the interval machinery for one paper-size cell (50,000 generated x 50,000 reference features, 2048-d):
the FID bootstrap (n_boot weighted FIDs), FID_inf (15 x (n_boot + 1) weighted FIDs), precision / recall
(torch-fidelity), and KID (torch-fidelity's subsets; the all-pairs estimate with its n_boot replicates), each timed
once after a small warm-up, on the device given.

Usage: python benchmarks/bootstrap_cost.py [--device cuda] [--n 50000] [--d 2048] [--n-boot 200]
           [--fid-inf-boot 200] [--no-fid] [--precision-recall] [--kid] [--out results/bootstrap_cost_<device>.json]
Speed does not depend on the features' values; they are Gaussian with a decaying spectrum, like pooled CNN
features, so the timings of the eigendecompositions are those of a realistic, ill-conditioned covariance.
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np
import torch

from ddim_eval.io import save_json
from ddim_eval.metrics.bootstrap import resample_counts
from ddim_eval.metrics.fid_bootstrap import fid_replicates
from ddim_eval.metrics.fid_infinity import fid_infinity
from ddim_eval.metrics.stats import from_features


def features(n: int, d: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    scale = 1.0 / np.sqrt(1.0 + np.arange(d))  # a decaying spectrum
    return (rng.standard_normal((n, d), dtype=np.float32) * scale.astype(np.float32)).astype(np.float32)


def timed(fn, device: torch.device) -> tuple[object, float]:
    start = time.perf_counter()
    out = fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return out, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--n", type=int, default=50000)
    parser.add_argument("--d", type=int, default=2048)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--fid-inf-boot", type=int, default=0, help="resamples for FID_inf (0: skip it)")
    parser.add_argument("--no-fid", action="store_true", help="skip the FID bootstrap")
    parser.add_argument("--precision-recall", action="store_true")
    parser.add_argument("--kid", action="store_true")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    name = (torch.cuda.get_device_name(device) if device.type == "cuda"
            else f"{platform.processor() or 'cpu'} ({torch.get_num_threads()} threads)")
    generated, reference = features(args.n, args.d, 0), features(args.n, args.d, 1) + 0.01
    ref = from_features(reference, "synthetic", "synthetic")
    fid_replicates(generated[:2000], ref, resample_counts(2000, 2, 0), device=device)  # warm-up
    result = {"device": name, "torch": torch.__version__, "n": args.n, "d": args.d, "n_boot": args.n_boot}
    counts, result["seconds_counts"] = timed(lambda: resample_counts(args.n, args.n_boot, 0), device)
    if not args.no_fid:
        _, result["seconds_fid_bootstrap"] = timed(lambda: fid_replicates(generated, ref, counts, device=device),
                                                   device)
        result["seconds_per_resample"] = result["seconds_fid_bootstrap"] / args.n_boot
    if args.fid_inf_boot:
        result["fid_inf_boot"] = args.fid_inf_boot
        _, result["seconds_fid_infinity"] = timed(
            lambda: fid_infinity(generated, ref, n_boot=args.fid_inf_boot, seed=0, device=device), device)
    if args.precision_recall:
        from ddim_eval.metrics.scores import precision_recall

        _, result["seconds_precision_recall"] = timed(
            lambda: precision_recall(generated, reference, device=device), device)
    if args.kid:
        from ddim_eval.metrics.distances import kid
        from ddim_eval.metrics.kid_bootstrap import kid_replicates

        _, result["seconds_kid_torch_fidelity"] = timed(lambda: kid(generated, reference), device)
        _, result["seconds_kid_all_pairs_bootstrap"] = timed(
            lambda: kid_replicates(generated, reference, counts, device=device), device)
    print(json.dumps(result, indent=2))
    if args.out:
        save_json(args.out, result)


if __name__ == "__main__":
    main()
