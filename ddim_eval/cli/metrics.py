"""Commands that measure: reference statistics, merged shard statistics, FID and KID, reconstruction error
(Table 2), sampling time (Figure 4), and fetching the Inception weights."""

from __future__ import annotations

import argparse
import sys

from ddim_eval.cli.args import (
    add_device_arg,
    add_extractor_args,
    add_interval_args,
    add_model_args,
    add_sampler_args,
    cell_run,
    count,
    extractor,
    network,
    positive,
)
from ddim_eval.metrics.stats import INCEPTION


def _reference_stats(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ddim_eval.data.arrays import load_images
    from ddim_eval.metrics.features import save_reference_set

    stats = save_reference_set(args.out_dir, extractor(args), load_images(args.data), args.batch_size)
    print(f"{Path(args.out_dir) / 'stats.npz'}: {stats.describe()} of {args.data}")


def _merge_stats(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ddim_eval.io import SHARD_DIR, shard_order
    from ddim_eval.metrics.stats import load_stats, merge_all, save_stats

    if SHARD_DIR.match(Path(args.out).parent.name):  # the output is written last; before, it came first
        raise ValueError(f"the output {args.out} lies in a shard folder; the command takes the inputs "
                         "first and the output last: merge-stats cell/shard*/stats.npz cell/stats.npz")
    merged = merge_all(load_stats(p) for p in shard_order(args.inputs))
    save_stats(args.out, merged)
    print(f"{args.out}: {merged.describe()} from {len(args.inputs)} files")


def _fid(args: argparse.Namespace) -> None:
    from ddim_eval.io import save_json
    from ddim_eval.metrics.distances import fid
    from ddim_eval.metrics.features import load_feature_rows
    from ddim_eval.metrics.scores import IntervalOptions, score_cell
    from ddim_eval.metrics.stats import INCEPTION, check_compatible, load_stats

    cell, ref = load_stats(args.stats), load_stats(args.ref_stats)
    check_compatible(cell, ref, str(args.stats), str(args.ref_stats))
    if args.features:
        intervals = IntervalOptions(args.level, args.n_boot, args.seed)
        ref_features = load_feature_rows(args.ref_features, ref, args.ref_stats) if args.ref_features else None
        record = score_cell(cell, ref, load_feature_rows(args.features, cell, args.stats), ref_features=ref_features,
                            intervals=intervals, kid_subsets=args.kid_subsets, kid_subset_size=args.kid_subset_size,
                            with_fid_infinity=args.fid_infinity, with_precision_recall=args.precision_recall,
                            device=args.device, progress=True)
    elif args.ref_features or args.fid_infinity or args.precision_recall:
        raise ValueError("KID, FID_inf and precision/recall need the cell's --features")
    else:
        record = {"extractor": cell.extractor, "layer": cell.layer, "n": cell.n, "n_ref": ref.n, "fid": fid(cell, ref)}
    if args.out:
        save_json(args.out, record)
    label = "Inception FID" if cell.extractor == INCEPTION else f"{cell.extractor} FID (not Inception)"
    print(f"{label}: {_with_interval(record, 'fid')} ({cell.n} vs {ref.n} samples)")
    if "fid_inf" in record:
        print(f"FID_inf: {_with_interval(record, 'fid_inf')}")
    if "kid_all_pairs" in record:
        # The kernel's raw units (the square of the features' scale): unbiased, so it may fall below 0. Papers
        # that use Inception often print KID x 1000.
        print(f"KID over all pairs (unbiased, in the kernel's raw units; may be < 0): "
              f"{_with_interval(record, 'kid_all_pairs')}")
    if "kid_mean" in record:
        print(f"KID (torch-fidelity, same units): {record['kid_mean']:.4g} ± {record['kid_std']:.2g} (std over "
              f"{args.kid_subsets} subsets)")
    if "precision" in record:
        print(f"precision {record['precision']:.4f}, recall {record['recall']:.4f}")


def _with_interval(record: dict, metric: str) -> str:
    if f"{metric}_ci_low" not in record:
        return f"{record[metric]:.4f}"
    low, high = record[f"{metric}_ci_low"], record[f"{metric}_ci_high"]
    return (f"{record[metric]:.4f} [{low:.4f}, {high:.4f}] ({record['ci_level']:.0%} {record['ci_method']} interval, "
            f"{record['n_boot']} resamples of the generated samples)")


def _reconstruct(args: argparse.Namespace) -> None:
    from ddim_eval.data.arrays import load_images
    from ddim_eval.io import save_json
    from ddim_eval.metrics.reconstruction import reconstruction_errors, summarize
    from ddim_eval.models.registry import get_model_spec
    from ddim_eval.sampling.times import discrete_grid

    spec = get_model_spec(args.model)
    spacing = args.spacing or spec.spacing
    grid = discrete_grid(spec.alphas_cumprod(), args.steps, spacing)
    images = load_images(args.data)[: args.n]
    if images.shape[1:] != spec.image_shape:
        raise ValueError(f"{args.data} holds images of shape {images.shape[1:]} (C, H, W), but model {spec.name!r} "
                         f"takes {spec.image_shape}: reconstruct a split of the model's own dataset")
    net = network(args, spec)
    errors = reconstruction_errors(net.eps, images, grid, eps_at=args.eps_at, batch_size=net.batch_size,
                                   device=args.device)
    record = ({"model": spec.name, "S": args.steps, "spacing": spacing, "eps_at": args.eps_at,
               "data": str(args.data), "fast_path": net.fast.label}
              | summarize(errors, level=args.level, n_boot=args.n_boot, seed=args.seed))
    save_json(args.out, record)
    print(f"{args.out}: reconstruction MSE {record['mse']:.4e} ± {record['sem']:.1e} (sem) over {record['n']} images")


def _time(args: argparse.Namespace) -> None:
    from ddim_eval.io import save_json
    from ddim_eval.metrics.timing import time_sampling
    from ddim_eval.models.registry import get_model_spec

    spec = get_model_spec(args.model)
    run = cell_run(args, spec)
    net = network(args, spec)
    print(f"timing {run.label} at NFE {run.nfe}, batch {net.batch_size}: {args.warmup} warm-up run(s), then the "
          f"best of {args.repeats}...", file=sys.stderr, flush=True)
    record = time_sampling(net.eps, spec.image_shape, run, batch_size=net.batch_size, device=args.device,
                           fast_path=net.fast.label, warmup=args.warmup, repeats=args.repeats)
    record = {"model": spec.name, "budget": args.nfe, "spacing": run.spacing, "random_weights": args.random_weights,
              "params": run.describe()["params"]} | record
    save_json(args.out, record)
    print(f"{args.out}: {record['seconds_per_image_per_step']:.3e} s per image per step on {record['device']}, "
          f"{record['hours_per_50k']:.3g} h per 50k images")


def _fetch_inception(args: argparse.Namespace) -> None:
    from ddim_eval.metrics.extractors import fetch_inception_weights

    print(fetch_inception_weights(args.cache_dir))


def _register_statistics(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("reference-stats", help="features and statistics of a prepared split (FID reference)")
    p.add_argument("data", help="prepared split (.npy, uint8 NCHW)")
    p.add_argument("out_dir", help="writes features.npz and stats.npz here")
    add_extractor_args(p, default=INCEPTION)
    p.add_argument("--batch-size", type=positive, default=256)
    add_device_arg(p)
    p.set_defaults(func=_reference_stats)

    p = sub.add_parser("merge-stats", help="merge shard statistics into one file")
    p.add_argument("inputs", nargs="+", help="the shards' stats.npz (in shard<k> folders: merged in shard order)")
    p.add_argument("out", help="the merged stats.npz")
    p.set_defaults(func=_merge_stats)

    p = sub.add_parser("fid", help="FID (and KID, given features) of a cell against reference statistics")
    p.add_argument("stats", help="the cell's stats.npz")
    p.add_argument("ref_stats", help="the reference stats.npz")
    p.add_argument("--features", nargs="+", default=None,
                   help="the cell's features.npz files in shard order (for the interval, KID, FID_inf, precision)")
    p.add_argument("--ref-features", nargs="+", default=None, help="the reference features.npz files (KID, precision)")
    add_interval_args(p)
    p.add_argument("--fid-infinity", action="store_true", help="also FID_inf (Chong & Forsyth 2020) with its interval")
    p.add_argument("--precision-recall", action="store_true",
                   help="also torch-fidelity's precision and recall (k = 3; needs --ref-features)")
    add_device_arg(p, "where the bootstrap runs")
    p.add_argument("--kid-subsets", type=count, default=100,
                   help="subsets of torch-fidelity's KID (reported beside KID over all pairs; 0: not computed)")
    p.add_argument("--kid-subset-size", type=count, default=1000)
    p.add_argument("--out", default=None, help="write the numbers as JSON")
    p.set_defaults(func=_fid)

    p = sub.add_parser("fetch-inception", help="download torch-fidelity's Inception weights, verified")
    p.add_argument("--cache-dir", default=None)
    p.set_defaults(func=_fetch_inception)


def register(sub: argparse._SubParsersAction) -> None:
    _register_statistics(sub)

    p = sub.add_parser("reconstruct", help="encode-decode reconstruction error of a prepared split (Table 2)")
    p.add_argument("model")
    p.add_argument("data", help="prepared split (.npy)")
    p.add_argument("out", help="JSON output")
    p.add_argument("--steps", type=positive, required=True, help="S, the steps of the inversion and of the decoding")
    p.add_argument("--n", type=positive, default=None, help="use the first n images (default: all)")
    p.add_argument("--eps-at", choices=["current", "next"], default="current")
    add_interval_args(p)
    add_model_args(p)
    p.set_defaults(func=_reconstruct)

    p = sub.add_parser("time", help="time sampling one batch (Figure 4: hours per 50k images)")
    p.add_argument("model")
    p.add_argument("out", help="JSON output")
    add_sampler_args(p)
    p.add_argument("--warmup", type=count, default=1)
    p.add_argument("--repeats", type=positive, default=3)
    add_model_args(p)
    p.set_defaults(func=_time)
