"""Commands that sample: print a tau sub-sequence, and sample one shard of one cell into features and statistics."""

from __future__ import annotations

import argparse

from ddim_eval.cli.args import (
    add_extractor_args,
    add_interval_args,
    add_model_args,
    add_sampler_args,
    cell_run,
    count,
    extractor,
    network,
    sample_count,
)
from ddim_eval.sampling.schedule import make_alphas_cumprod
from ddim_eval.sampling.times import DISCRETE_SPACINGS, describe_timesteps, timesteps


def _timesteps(args: argparse.Namespace) -> None:
    ts = timesteps(args.steps, args.spacing, make_alphas_cumprod(T=args.T))
    print(describe_timesteps(ts))
    print(" ".join(map(str, ts)))


def _sample(args: argparse.Namespace) -> None:
    from ddim_eval.experiment.generate import generate_cell
    from ddim_eval.models.registry import get_model_spec

    spec = get_model_spec(args.model)
    run = cell_run(args, spec)
    features = extractor(args, spec)
    net = network(args, spec)
    describe = {"model": spec.name, "budget": args.nfe, **run.describe(), "n": args.n, "shard": args.shard,
                "extractor": features.name, "layer": features.layer, "random_weights": args.random_weights}
    record = generate_cell(net.eps, spec.x_T_name, args.out_dir, shape=spec.image_shape, run=run, n=args.n,
                           shard=args.shard, extractor=features,
                           batch_size=net.batch_size, device=args.device, fast_path=net.fast.label,
                           keep_samples=args.keep_samples, keep_floats=args.keep_floats, describe=describe)
    print(f"{args.out_dir}: {args.n} samples ({run.label}, NFE {run.nfe}), "
          f"{record['seconds_per_image_per_step']:.3e} s per image per network evaluation "
          f"on {record['device']} ({record['hours_per_50k']:.3g} h per 50k images)")


def _fast_path_check(args: argparse.Namespace) -> None:
    from ddim_eval.experiment.fast_path_check import fast_path_check
    from ddim_eval.io import save_json
    from ddim_eval.metrics.scores import IntervalOptions
    from ddim_eval.metrics.stats import load_stats
    from ddim_eval.models.registry import get_model_spec
    from ddim_eval.wallclock import device_name

    spec = get_model_spec(args.model)
    run = cell_run(args, spec)
    features = extractor(args, spec)
    ref_stats = load_stats(args.ref_stats, features.name, features.layer)
    fast = network(args, spec)
    # The reference: strict fp32 eager, at the fast run's batch (the stochastic variants' noise is drawn per batch).
    strict = argparse.Namespace(**vars(args) | {"precision": "fp32", "channels_last": False, "compile": False,
                                                "cuda_graphs": False, "batch_size": fast.batch_size})
    reference = network(strict, spec)
    if fast.fast == reference.fast:
        print(f"the fast setting runs as {fast.fast.label} here, like the reference: expect no difference")
    intervals = IntervalOptions(args.level, args.n_boot, args.seed)
    record = {"model": spec.name, "spacing": run.spacing, "device": device_name(args.device), "reference": "fp32",
              "fast_path": fast.fast.label, "batch_size": fast.batch_size} | fast_path_check(
        reference.eps, fast.eps, spec.name, shape=spec.image_shape, run=run, n=args.n, shard=args.shard,
        extractor=features, ref_stats=ref_stats, batch_size=fast.batch_size, device=args.device, intervals=intervals)
    if args.out:
        save_json(args.out, record)
    r = record
    print(f"{spec.name}, {run.label}, NFE {run.nfe}, n={args.n}: {r['fast_path']} against fp32 on {r['device']}")
    print(f"  max |x0 difference| {r['max_abs_x0_difference']:.3g} (median over images "
          f"{r['median_max_abs_x0_difference']:.3g}); uint8 pixels that differ {r['share_pixels_differ']:.3%} "
          f"(images {r['share_images_differ']:.1%})")
    print(f"  FID fp32 {r['fid_reference']:.4f} [{r['fid_reference_ci_low']:.4f}, {r['fid_reference_ci_high']:.4f}], "
          f"{r['fast_path']} {r['fid_fast']:.4f}; shift {r['fid_shift']:+.4f} [{r['fid_shift_ci_low']:+.4f}, "
          f"{r['fid_shift_ci_high']:+.4f}] ({r['ci_level']:.0%} paired interval; "
          f"{'significant' if r['fid_shift_significant'] else 'not significant'}), "
          f"against the FID's own noise of ±{r['fid_noise_half_width']:.4f}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("timesteps", help="print the tau sub-sequence for S steps")
    p.add_argument("steps", type=int)
    p.add_argument("--spacing", choices=list(DISCRETE_SPACINGS), default="linear")
    p.add_argument("--T", type=int, default=1000)
    p.set_defaults(func=_timesteps)

    p = sub.add_parser("sample", help="sample one shard of one cell; write features, statistics and timing",
                       description="Sample one shard of one cell. Progress is committed batch by batch to "
                                   "OUT_DIR/.partial/; run the same command again after an interruption and it "
                                   "resumes after the last finished batch, with the same outputs.")
    p.add_argument("model", help="registry name")
    p.add_argument("out_dir", help="writes features.npz, stats.npz, timing.json (and samples.npz) here")
    add_sampler_args(p)
    p.add_argument("--n", type=sample_count, required=True, help="samples in this shard")
    p.add_argument("--shard", type=count, default=0, help="shard index: selects x_T (same for every cell)")
    p.add_argument("--keep-samples", action="store_true", help="also write the uint8 samples (samples.npz: images)")
    p.add_argument("--keep-floats", action="store_true",
                   help="also write the samples, and their float pixels in [0, 1] before rounding (samples.npz: "
                        "images, and floats: float32)")
    add_model_args(p)
    add_extractor_args(p)
    p.set_defaults(func=_sample)

    p = sub.add_parser("fast-path-check", help="sample the same x_T in strict fp32 and in a fast setting; report "
                       "the pixel differences and the FID shift with its paired interval")
    p.add_argument("model", help="registry name")
    p.add_argument("ref_stats", help="the reference statistics (stats.npz of `ddim-eval reference-stats`)")
    add_sampler_args(p)
    p.add_argument("--n", type=sample_count, default=2000, help="images sampled in each setting")
    p.add_argument("--shard", type=count, default=0, help="shard index: selects x_T")
    p.add_argument("--out", default=None, help="write the numbers as JSON")
    add_model_args(p)
    add_extractor_args(p)
    add_interval_args(p)
    p.set_defaults(func=_fast_path_check)
