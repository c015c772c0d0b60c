"""Are the bootstrap intervals the right width on real features? Independent shards of the same cells are true
replicates: the spread of FID over K shards of n samples is the sampling noise the interval of one shard should
describe. This samples K shards of each given cell of the demo's digits model (x_T of shard k shared by the cells,
as in the workflow), and prints, per cell and per paired difference, the standard deviation over shards, the mean
bootstrap standard deviation of one shard, their ratio, and how often a shard's interval covers the mean over all
shards (the best available estimate of E[FID_n]).

Usage: python benchmarks/interval_calibration.py --steps 10 --eta 0 1 sigma_hat --n 1000 --shards 20
           [--n-boot 200] [--work results/calibration] [--out results/calibration_digits.json]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ddim_eval.cli.args import parse_eta
from ddim_eval.data import digits
from ddim_eval.experiment.generate import generate_cell
from ddim_eval.io import save_json
from ddim_eval.metrics.bootstrap import Replicated, paired_difference, resample_counts
from ddim_eval.metrics.distances import fid
from ddim_eval.metrics.extractors import load_extractor
from ddim_eval.metrics.features import batches, extract, load_features
from ddim_eval.metrics.fid_bootstrap import fid_replicates
from ddim_eval.metrics.stats import from_features
from ddim_eval.models import eps_model_from_unet, get_model_spec, load_unet
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry


def summarize(values: np.ndarray, boot_sds: np.ndarray, lows: np.ndarray, highs: np.ndarray) -> dict[str, float]:
    target = values.mean()
    return {"mean": float(target), "sd_over_shards": float(values.std(ddof=1)), "bootstrap_sd": float(boot_sds.mean()),
            "ratio": float(boot_sds.mean() / values.std(ddof=1)),
            "coverage_of_shard_mean": float(np.mean((lows <= target) & (target <= highs))),
            "significant_share": float(np.mean((lows > 0) | (highs < 0)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--eta", type=parse_eta, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--shards", type=int, default=20)
    parser.add_argument("--n-boot", type=int, default=200)
    parser.add_argument("--level", type=float, default=0.95)
    parser.add_argument("--work", default="results/calibration", help="shards are kept here and reused")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    spec = get_model_spec("digits")
    extractor = load_extractor("digits-cnn")
    eps_model = eps_model_from_unet(load_unet(spec))
    _, ref = extract(extractor, batches(digits.load("train")[0], 500), progress=False)
    counts = resample_counts(args.n, args.n_boot, seed=0)
    runs = {eta: prepare(paper_entry(eta), args.steps, spec.alphas_cumprod(), spec.spacing) for eta in args.eta}
    cells: dict[str, list[Replicated]] = {}
    for eta in args.eta:
        for k in range(args.shards):
            out = Path(args.work) / f"n{args.n}" / f"S{args.steps}" / f"eta={eta}" / f"shard{k}"
            if not (out / "features.npz").exists():
                generate_cell(eps_model, spec.name, out, shape=spec.image_shape,
                              run=runs[eta], n=args.n, shard=k, extractor=extractor, batch_size=500, progress=False)
            f = load_features(out / "features.npz")
            estimate = fid(from_features(f, extractor.name, extractor.layer), ref)
            cells.setdefault(str(eta), []).append(Replicated(estimate, fid_replicates(f, ref, counts), 0, args.n))
    result = {"model": "digits", "S": args.steps, "n": args.n, "shards": args.shards, "n_boot": args.n_boot,
              "level": args.level, "cells": {}, "differences": {}}
    for eta, shards in cells.items():
        intervals = np.array([s.interval(args.level) for s in shards])
        result["cells"][eta] = summarize(np.array([s.value for s in shards]),
                                         np.array([s.replicates.std() for s in shards]), *intervals.T)
    first = list(cells)[0]
    for eta in list(cells)[1:]:
        diffs = [paired_difference(b, a, args.level) for a, b in zip(cells[first], cells[eta])]
        result["differences"][f"{eta} - {first}"] = summarize(
            np.array([d["difference"] for d in diffs]),
            np.array([(b.replicates - a.replicates).std() for a, b in zip(cells[first], cells[eta])]),
            np.array([d["ci_low"] for d in diffs]), np.array([d["ci_high"] for d in diffs]))
    print(json.dumps(result, indent=2))
    if args.out:
        save_json(args.out, result)


if __name__ == "__main__":
    main()
