"""Commands that sample: print a tau sub-sequence, and sample one shard of one cell into features and statistics."""

from __future__ import annotations

import argparse

from ddim_eval.cli.args import add_extractor_args, add_model_args, cell_timesteps, network, parse_eta
from ddim_eval.sampling.schedule import SPACINGS, describe_timesteps, timesteps


def _timesteps(args: argparse.Namespace) -> None:
    ts = timesteps(args.steps, args.spacing, args.T)
    print(describe_timesteps(ts))
    print(" ".join(map(str, ts)))


def _sample(args: argparse.Namespace) -> None:
    from ddim_eval.grid.generate import generate_cell
    from ddim_eval.metrics.extractors import load_extractor
    from ddim_eval.models.registry import get_model_spec

    spec = get_model_spec(args.model)
    spacing, ts = cell_timesteps(args, spec)
    extractor = load_extractor(args.extractor, args.layer, args.weights_path, args.device)
    net = network(args, spec)
    describe = {"model": spec.name, "S": args.steps, "eta": args.eta, "spacing": spacing, "n": args.n,
                "shard": args.shard, "extractor": extractor.name, "layer": extractor.layer}
    record = generate_cell(net.eps, spec.name, args.out_dir, shape=spec.image_shape, timesteps=ts, eta=args.eta,
                           alphas_cumprod=spec.alphas_cumprod(), n=args.n, shard=args.shard, extractor=extractor,
                           batch_size=net.batch_size, device=args.device, fast_path=net.fast.label,
                           keep_samples=args.keep_samples, describe=describe)
    print(f"{args.out_dir}: {args.n} samples, {record['seconds_per_image_per_step']:.3e} s per image per step "
          f"on {record['device']} ({record['hours_per_50k']:.3g} h per 50k images)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("timesteps", help="print the tau sub-sequence for S steps")
    p.add_argument("steps", type=int)
    p.add_argument("--spacing", choices=sorted(SPACINGS), default="linear")
    p.add_argument("--T", type=int, default=1000)
    p.set_defaults(func=_timesteps)

    p = sub.add_parser("sample", help="sample one shard of one cell; write features, statistics and timing",
                       description="Sample one shard of one cell. Progress is committed batch by batch to "
                                   "OUT_DIR/.partial/; run the same command again after an interruption and it "
                                   "resumes after the last finished batch, with the same outputs.")
    p.add_argument("model", help="registry name")
    p.add_argument("out_dir", help="writes features.npz, stats.npz, timing.json (and samples.npz) here")
    p.add_argument("--steps", type=int, required=True, help="S, the number of sampling steps")
    p.add_argument("--eta", type=parse_eta, required=True, help="a float >= 0, or sigma_hat")
    p.add_argument("--n", type=int, required=True, help="samples in this shard")
    p.add_argument("--shard", type=int, default=0, help="shard index: selects x_T (same for every cell)")
    p.add_argument("--keep-samples", action="store_true", help="also write the uint8 samples")
    add_model_args(p)
    add_extractor_args(p)
    p.set_defaults(func=_sample)
