"""`ddim-eval`: the command line of the library."""

from __future__ import annotations

import argparse
import pickle
import sys

from ddim_eval.schedule import SPACINGS, describe_timesteps, timesteps
from ddim_eval.variants import SIGMA_HAT, Eta


def _parse_eta(text: str) -> Eta:
    return text if text == SIGMA_HAT else float(text)


def _demo(args: argparse.Namespace) -> None:
    import time

    from ddim_eval.demo import run_demo

    start = time.perf_counter()
    print(f"Demo world: the packaged digits DDPM (8x8, T=1000), {args.n} samples per cell from shared x_T, scored "
          f"against the digits train split. FID here is digits-cnn FID (the demo CNN's 64-d features), not "
          f"Inception FID. Outputs under {args.out}.\n", flush=True)
    result = run_demo(args.out, steps=args.steps, etas=args.eta, n=args.n, recon_steps=args.recon_steps,
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
    print(f"\n{time.perf_counter() - start:.0f} s; numbers in {args.out}/demo.json")


def _oracle(args: argparse.Namespace) -> None:
    from ddim_eval.oracle import oracle_sweep

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


def _timesteps(args: argparse.Namespace) -> None:
    ts = timesteps(args.steps, args.spacing, args.T)
    print(describe_timesteps(ts))
    print(" ".join(map(str, ts)))


def _models(args: argparse.Namespace) -> None:
    from ddim_eval.registry import load_registry

    for name, spec in load_registry().items():
        digest = f"md5 {spec.md5}" if spec.md5 else f"sha256 {spec.sha256}" if spec.sha256 else "pinned on first use"
        print(f"{name}: {spec.image_shape} {spec.spacing} tau, T={spec.T}, {spec.checkpoint_file} ({digest})")
        print(f"    {spec.note}")


def _fetch(args: argparse.Namespace) -> None:
    from ddim_eval.checkpoints import fetch_checkpoint
    from ddim_eval.registry import get_model_spec

    for name in args.models:
        print(fetch_checkpoint(get_model_spec(name), args.cache_dir))


def _prepare_digits(args: argparse.Namespace) -> None:
    from ddim_eval.datasets import prepare_digits

    for split, path in prepare_digits(args.out_dir).items():
        print(f"{split}: {path}")


def _fetch_cifar10(args: argparse.Namespace) -> None:
    from ddim_eval.checkpoints import fetch_file
    from ddim_eval.datasets import CIFAR10_MD5, CIFAR10_URL

    dest = fetch_file(CIFAR10_URL, args.dest, md5=CIFAR10_MD5, what="the CIFAR-10 archive")
    print(f"{dest}: md5 {CIFAR10_MD5} verified")


def _prepare_cifar10(args: argparse.Namespace) -> None:
    from ddim_eval.datasets import prepare_cifar10

    for split, path in prepare_cifar10(args.archive, args.out_dir).items():
        print(f"{split}: {path}")


def _fetch_celeba(args: argparse.Namespace) -> None:
    from ddim_eval import celeba

    for path in celeba.fetch(args.out_dir).values():
        print(f"{path}: md5 verified")


def _prepare_celeba(args: argparse.Namespace) -> None:
    from ddim_eval import celeba

    print(celeba.prepare(args.archive, args.partition, args.out, args.split, max_images=args.max_images))


def _fetch_lsun(args: argparse.Namespace) -> None:
    from ddim_eval import lsun

    print(lsun.fetch(args.root, args.category))


def _prepare_lsun(args: argparse.Namespace) -> None:
    from ddim_eval import lsun

    print(lsun.prepare(args.database, args.out, max_images=args.max_images))


def _train(args: argparse.Namespace) -> None:
    import torch
    from diffusers import UNet2DModel

    from ddim_eval.checkpoints import file_digest
    from ddim_eval.datasets import load_images
    from ddim_eval.registry import get_model_spec
    from ddim_eval.train import save_weights, train_ddpm

    spec = get_model_spec(args.model)
    images = load_images(args.data)
    if images.shape[1:] != spec.image_shape:
        raise ValueError(f"{args.data} holds images of shape {images.shape[1:]}; model {spec.name!r} takes "
                         f"{spec.image_shape}")
    torch.manual_seed(args.seed)
    unet = UNet2DModel(**spec.unet_config())
    ema = train_ddpm(unet, images, spec.alphas_cumprod(), steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                     ema_decay=args.ema_decay, seed=args.seed, device=args.device)
    path = save_weights(args.out, ema)
    print(f"{path}: sha256 {file_digest(path, 'sha256')}")


def _train_digits_cnn(args: argparse.Namespace) -> None:
    from ddim_eval.checkpoints import file_digest
    from ddim_eval.datasets import digits_split
    from ddim_eval.digits_cnn import accuracy, train_digits_cnn
    from ddim_eval.train import save_weights

    train, test = digits_split("train"), digits_split("test")
    model = train_digits_cnn(*train, epochs=args.epochs, seed=args.seed)
    path = save_weights(args.out, model)
    print(f"digits-cnn test accuracy {accuracy(model, *test):.4f} (train {accuracy(model, *train):.4f})")
    print(f"{path}: sha256 {file_digest(path, 'sha256')}")


_DTYPES = ("float32", "float16", "bfloat16")


def _dtype(name: str):
    import torch

    return getattr(torch, name)


def _eps_model(args: argparse.Namespace, spec, random_weights: bool = False):
    from ddim_eval.checkpoints import load_unet
    from ddim_eval.unet import eps_model_from_unet

    if random_weights:
        from diffusers import UNet2DModel

        unet = UNet2DModel(**spec.unet_config()).to(args.device).eval().requires_grad_(False)
    else:
        unet = load_unet(spec, args.cache_dir, device=args.device, allow_download=not args.no_download)
    return eps_model_from_unet(unet.to(_dtype(args.dtype)))


def _cell_timesteps(args: argparse.Namespace, spec) -> tuple[str, list[int]]:
    spacing = args.spacing or spec.spacing
    return spacing, timesteps(args.steps, spacing, spec.T)


def _reference_stats(args: argparse.Namespace) -> None:
    from pathlib import Path

    from ddim_eval.datasets import load_images
    from ddim_eval.features import batches, extract, load_extractor, save_feature_set

    images = load_images(args.data)
    extractor = load_extractor(args.extractor, args.layer, args.weights_path, args.device)
    features, stats = extract(extractor, batches(images, args.batch_size), total=len(images))
    save_feature_set(args.out_dir, features, stats)
    print(f"{Path(args.out_dir) / 'stats.npz'}: {stats.describe()} of {args.data}")


def _sample(args: argparse.Namespace) -> None:
    from ddim_eval.features import load_extractor
    from ddim_eval.generate import generate_cell
    from ddim_eval.registry import get_model_spec

    spec = get_model_spec(args.model)
    spacing, ts = _cell_timesteps(args, spec)
    extractor = load_extractor(args.extractor, args.layer, args.weights_path, args.device)
    describe = {"model": spec.name, "S": args.steps, "eta": args.eta, "spacing": spacing, "n": args.n,
                "shard": args.shard, "extractor": extractor.name, "layer": extractor.layer}
    record = generate_cell(_eps_model(args, spec), spec.name, args.out_dir, shape=spec.image_shape, timesteps=ts,
                           eta=args.eta, alphas_cumprod=spec.alphas_cumprod(), n=args.n, shard=args.shard,
                           extractor=extractor, batch_size=args.batch_size, device=args.device,
                           dtype=_dtype(args.dtype), keep_samples=args.keep_samples, describe=describe)
    print(f"{args.out_dir}: {args.n} samples, {record['seconds_per_image_per_step']:.3e} s per image per step "
          f"on {record['device']} ({record['hours_per_50k']:.3g} h per 50k images)")


def _merge_stats(args: argparse.Namespace) -> None:
    from ddim_eval.stats import load_stats, merge_all, save_stats

    merged = merge_all(load_stats(p) for p in args.inputs)
    save_stats(args.out, merged)
    print(f"{args.out}: {merged.describe()} from {len(args.inputs)} files")


def _fid(args: argparse.Namespace) -> None:
    import numpy as np

    from ddim_eval.features import load_features
    from ddim_eval.io import save_json
    from ddim_eval.metrics import fid, kid
    from ddim_eval.stats import check_compatible, load_stats

    cell, ref = load_stats(args.stats), load_stats(args.ref_stats)
    check_compatible(cell, ref, str(args.stats), str(args.ref_stats))
    record = {"extractor": cell.extractor, "layer": cell.layer, "n": cell.n, "n_ref": ref.n, "fid": fid(cell, ref)}
    if bool(args.features) != bool(args.ref_features):
        raise ValueError("KID needs both --features and --ref-features")
    if args.features:
        features = [np.concatenate([load_features(p, s.extractor, s.layer) for p in paths])
                    for paths, s in ((args.features, cell), (args.ref_features, ref))]
        record |= kid(*features, subsets=args.kid_subsets, subset_size=args.kid_subset_size)
    if args.out:
        save_json(args.out, record)
    label = "Inception FID" if cell.extractor == "inception-v3-compat" else f"{cell.extractor} FID (not Inception)"
    kid_text = f", KID {record['kid_mean']:.4g} ± {record['kid_std']:.2g}" if "kid_mean" in record else ""
    print(f"{label}: {record['fid']:.4f}{kid_text} ({cell.n} vs {ref.n} samples)")


def _reconstruct(args: argparse.Namespace) -> None:
    from ddim_eval.datasets import load_images
    from ddim_eval.io import save_json
    from ddim_eval.reconstruction import reconstruction_errors, summarize
    from ddim_eval.registry import get_model_spec

    spec = get_model_spec(args.model)
    spacing, ts = _cell_timesteps(args, spec)
    images = load_images(args.data)[: args.n]
    errors = reconstruction_errors(_eps_model(args, spec), images, ts, alphas_cumprod=spec.alphas_cumprod(),
                                   eps_at=args.eps_at, batch_size=args.batch_size, device=args.device,
                                   dtype=_dtype(args.dtype))
    record = {"model": spec.name, "S": args.steps, "spacing": spacing, "eps_at": args.eps_at,
              "data": str(args.data)} | summarize(errors)
    save_json(args.out, record)
    print(f"{args.out}: reconstruction MSE {record['mse']:.4e} ± {record['sem']:.1e} (sem) over {record['n']} images")


def _time(args: argparse.Namespace) -> None:
    from ddim_eval.io import save_json
    from ddim_eval.registry import get_model_spec
    from ddim_eval.timing import time_sampling

    spec = get_model_spec(args.model)
    spacing, ts = _cell_timesteps(args, spec)
    record = time_sampling(_eps_model(args, spec, args.random_weights), spec.image_shape, ts, args.eta,
                           alphas_cumprod=spec.alphas_cumprod(), batch_size=args.batch_size, device=args.device,
                           dtype=_dtype(args.dtype), warmup=args.warmup, repeats=args.repeats)
    record = {"model": spec.name, "S": args.steps, "eta": args.eta, "spacing": spacing,
              "random_weights": args.random_weights} | record
    save_json(args.out, record)
    print(f"{args.out}: {record['seconds_per_image_per_step']:.3e} s per image per step on {record['device']}, "
          f"{record['hours_per_50k']:.3g} h per 50k images")


def _figures(args: argparse.Namespace) -> None:
    from pathlib import Path

    import numpy as np

    from ddim_eval import showcase
    from ddim_eval.figures import rows_figure, samples_figure, save_figure
    from ddim_eval.grid import variant_label
    from ddim_eval.registry import get_model_spec

    spec = get_model_spec(args.model)
    eps_model = _eps_model(args, spec)
    common = {"spacing": args.spacing or spec.spacing, "device": args.device, "batch_size": args.batch_size}
    alphas, out = spec.alphas_cumprod(), Path(args.out_dir)
    grid = showcase.sample_grid(eps_model, spec.name, spec.image_shape, alphas, steps=args.sample_steps,
                                variants=args.variants, n=args.n, **common)
    labels = [variant_label(v) for v in args.variants]
    save_figure(samples_figure(grid, labels, args.sample_steps, f"{spec.name}: samples from one x_T per S and "
                                                                 f"variant ({common['spacing']} tau)"), out / "samples")
    images = showcase.consistency(eps_model, spec.name, spec.image_shape, alphas, steps=args.consistency_steps,
                                  n=args.consistency_n, **common)
    save_figure(rows_figure(images, [f"S={s}" for s in args.consistency_steps],
                            f"{spec.name}: one x_T per row, eta = 0, decoded with S steps"), out / "consistency")
    images = showcase.interpolation(eps_model, spec.name, spec.image_shape, alphas, steps=args.interpolation_steps,
                                    pairs=args.pairs, points=args.points, **common)
    alphas_label = [f"{a:.2g}" for a in np.linspace(0, 1, args.points)]
    save_figure(rows_figure(images, alphas_label, f"{spec.name}: slerp between two x_T, eta = 0, "
                                                  f"S = {args.interpolation_steps}"), out / "interpolation")
    print(f"{out}: samples, consistency, interpolation (.png, .pdf)")


def _timing_figure(args: argparse.Namespace) -> None:
    import csv

    from ddim_eval.figures import save_figure, timing_figure

    with open(args.timing_csv, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"{args.timing_csv} holds no timing rows")
    print(*save_figure(timing_figure(rows), args.out_stem))


def _fetch_inception(args: argparse.Namespace) -> None:
    from ddim_eval.checkpoints import fetch_inception_weights

    print(fetch_inception_weights(args.cache_dir))


def _add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spacing", choices=sorted(SPACINGS), default=None, help="default: the model's paper spacing")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=_DTYPES, default="float32")
    p.add_argument("--cache-dir", default=None, help="checkpoint cache (default: $DDIM_EVAL_CACHE)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing checkpoint")


def _add_extractor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--extractor", default="inception-v3-compat", help="a torch-fidelity feature extractor name")
    p.add_argument("--layer", default=None, help="feature layer (default: the extractor's FID layer)")
    p.add_argument("--weights-path", default=None, help="local extractor weights (feature_extractor_weights_path)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ddim-eval", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="the demo world: digits DDPM FID across S and eta, reconstruction (CPU, minutes)")
    p.add_argument("--out", default="results/demo-cli", help="where cell outputs go")
    p.add_argument("--steps", type=int, nargs="+", default=[10, 20, 50, 100])
    p.add_argument("--eta", type=_parse_eta, nargs="+", default=[0.0, 0.2, 0.5, 1.0, "sigma_hat"])
    p.add_argument("--recon-steps", type=int, nargs="*", default=[10, 20, 50, 100])
    p.add_argument("--spacing", choices=sorted(SPACINGS), default=None)
    p.add_argument("--n", type=int, default=2000, help="samples per cell")
    p.add_argument("--shard", type=int, default=0, help="which x_T (another shard: an independent repeat)")
    p.add_argument("--batch-size", type=int, default=500)
    p.set_defaults(func=_demo)

    p = sub.add_parser("oracle", help="sample an exact Gaussian-mixture oracle across S and eta (CPU, seconds)")
    p.add_argument("--steps", type=int, nargs="+", default=[10, 20, 50, 100])
    p.add_argument("--eta", type=_parse_eta, nargs="+", default=[0.0, 0.2, 0.5, 1.0, "sigma_hat"])
    p.add_argument("--spacing", choices=sorted(SPACINGS), default="linear")
    p.add_argument("--n", type=int, default=20000, help="samples per cell")
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_oracle)

    p = sub.add_parser("timesteps", help="print the tau sub-sequence for S steps")
    p.add_argument("steps", type=int)
    p.add_argument("--spacing", choices=sorted(SPACINGS), default="linear")
    p.add_argument("--T", type=int, default=1000)
    p.set_defaults(func=_timesteps)

    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(func=_models)

    p = sub.add_parser("fetch", help="download and verify checkpoints into the cache")
    p.add_argument("models", nargs="+")
    p.add_argument("--cache-dir", default=None, help="default: $DDIM_EVAL_CACHE or ~/.cache/ddim-eval")
    p.set_defaults(func=_fetch)

    p = sub.add_parser("prepare-digits", help="write the demo dataset's train.npy and test.npy (no download)")
    p.add_argument("out_dir")
    p.set_defaults(func=_prepare_digits)

    p = sub.add_parser("fetch-cifar10", help="download the CIFAR-10 python archive, md5-verified (resumable)")
    p.add_argument("dest", help="where the .tar.gz goes")
    p.set_defaults(func=_fetch_cifar10)

    p = sub.add_parser("prepare-cifar10", help="train.npy (50k) and test.npy (10k) from the CIFAR-10 archive")
    p.add_argument("archive")
    p.add_argument("out_dir")
    p.set_defaults(func=_prepare_cifar10)

    p = sub.add_parser("fetch-celeba", help="CelebA's aligned images and partition list, md5-verified "
                       "(Google Drive; says how to place them by hand when it refuses)")
    p.add_argument("out_dir")
    p.set_defaults(func=_fetch_celeba)

    p = sub.add_parser("prepare-celeba", help="one CelebA split, cropped and resized to 64x64 as the paper did")
    p.add_argument("archive", help="img_align_celeba.zip")
    p.add_argument("partition", help="list_eval_partition.txt")
    p.add_argument("out", help="the split's .npy")
    p.add_argument("--split", choices=["train", "valid", "test"], default="train")
    p.add_argument("--max-images", type=int, default=None, help="the first N images of the split")
    p.set_defaults(func=_prepare_celeba)

    p = sub.add_parser("fetch-lsun", help="download and unpack an LSUN training LMDB (resumable)")
    p.add_argument("category", choices=["bedroom", "church_outdoor"])
    p.add_argument("root", help="folder that gets <category>_train_lmdb/")
    p.set_defaults(func=_fetch_lsun)

    p = sub.add_parser("prepare-lsun", help="the first N images of an LSUN LMDB at 256x256, as the paper did")
    p.add_argument("database", help="the <category>_train_lmdb folder")
    p.add_argument("out", help="the split's .npy")
    p.add_argument("--max-images", type=int, required=True)
    p.set_defaults(func=_prepare_lsun)

    p = sub.add_parser("train", help="train a registered diffusers_unet model from scratch (DDPM objective, EMA)")
    p.add_argument("model", help="registry name, e.g. digits")
    p.add_argument("data", help="prepared training array (.npy, uint8 NCHW)")
    p.add_argument("out", help="where to write the EMA weights (.safetensors)")
    p.add_argument("--steps", type=int, default=5000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=_train)

    p = sub.add_parser("train-digits-cnn", help="train the demo's feature extractor (digits-cnn) on the train split")
    p.add_argument("out", help="where to write its weights (.safetensors)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_train_digits_cnn)

    p = sub.add_parser("reference-stats", help="features and statistics of a prepared split (FID reference)")
    p.add_argument("data", help="prepared split (.npy, uint8 NCHW)")
    p.add_argument("out_dir", help="writes features.npz and stats.npz here")
    _add_extractor_args(p)
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=_reference_stats)

    p = sub.add_parser("sample", help="sample one shard of one cell; write features, statistics and timing")
    p.add_argument("model", help="registry name")
    p.add_argument("out_dir", help="writes features.npz, stats.npz, timing.json (and samples.npz) here")
    p.add_argument("--steps", type=int, required=True, help="S, the number of sampling steps")
    p.add_argument("--eta", type=_parse_eta, required=True, help="a float >= 0, or sigma_hat")
    p.add_argument("--n", type=int, required=True, help="samples in this shard")
    p.add_argument("--shard", type=int, default=0, help="shard index: selects x_T (same for every cell)")
    p.add_argument("--keep-samples", action="store_true", help="also write the uint8 samples")
    _add_model_args(p)
    _add_extractor_args(p)
    p.set_defaults(func=_sample)

    p = sub.add_parser("merge-stats", help="merge shard statistics into one file")
    p.add_argument("out")
    p.add_argument("inputs", nargs="+")
    p.set_defaults(func=_merge_stats)

    p = sub.add_parser("fid", help="FID (and KID, given features) of a cell against reference statistics")
    p.add_argument("stats", help="the cell's stats.npz")
    p.add_argument("ref_stats", help="the reference stats.npz")
    p.add_argument("--features", nargs="+", default=None, help="the cell's features.npz files (for KID)")
    p.add_argument("--ref-features", nargs="+", default=None, help="the reference features.npz files (for KID)")
    p.add_argument("--kid-subsets", type=int, default=100)
    p.add_argument("--kid-subset-size", type=int, default=1000)
    p.add_argument("--out", default=None, help="write the numbers as JSON")
    p.set_defaults(func=_fid)

    p = sub.add_parser("reconstruct", help="encode-decode reconstruction error of a prepared split (Table 2)")
    p.add_argument("model")
    p.add_argument("data", help="prepared split (.npy)")
    p.add_argument("out", help="JSON output")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--n", type=int, default=None, help="use the first n images (default: all)")
    p.add_argument("--eps-at", choices=["current", "next"], default="current")
    _add_model_args(p)
    p.set_defaults(func=_reconstruct)

    p = sub.add_parser("time", help="time sampling one batch (Figure 4: hours per 50k images)")
    p.add_argument("model")
    p.add_argument("out", help="JSON output")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--eta", type=_parse_eta, default=0.0)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--random-weights", action="store_true",
                   help="time an untrained network of the same architecture (no checkpoint needed; same cost)")
    _add_model_args(p)
    p.set_defaults(func=_time)

    p = sub.add_parser("figures", help="Figures 3, 5 and 6 of a model: samples per S and variant, consistency "
                       "over S, slerp interpolation (PNG and PDF)")
    p.add_argument("model")
    p.add_argument("out_dir")
    p.add_argument("--sample-steps", type=int, nargs="+", default=[10, 20, 50, 100])
    p.add_argument("--variants", type=_parse_eta, nargs="+", default=[0.0, 1.0, "sigma_hat"])
    p.add_argument("--n", type=int, default=16, help="samples per panel of the samples figure")
    p.add_argument("--consistency-steps", type=int, nargs="+", default=[10, 20, 50, 100, 1000])
    p.add_argument("--consistency-n", type=int, default=8, help="rows (x_T) of the consistency figure")
    p.add_argument("--interpolation-steps", type=int, default=50)
    p.add_argument("--pairs", type=int, default=4, help="rows (x_T pairs) of the interpolation figure")
    p.add_argument("--points", type=int, default=11, help="interpolation points from 0 to 1")
    _add_model_args(p)
    p.set_defaults(func=_figures)

    p = sub.add_parser("timing-figure", help="Figure 4 from a run's timing table (PNG and PDF)")
    p.add_argument("timing_csv", help="tables/timing.csv of a run")
    p.add_argument("out_stem", help="output path without extension")
    p.set_defaults(func=_timing_figure)

    p = sub.add_parser("fetch-inception", help="download torch-fidelity's Inception weights, verified")
    p.add_argument("--cache-dir", default=None)
    p.set_defaults(func=_fetch_inception)

    args = parser.parse_args(argv)
    try:
        if getattr(args, "device", None):
            from ddim_eval.devices import claim_device

            args.device = claim_device(args.device)
        args.func(args)
    except (ValueError, KeyError, RuntimeError, OSError, ArithmeticError, pickle.UnpicklingError) as e:
        sys.exit(f"ddim-eval {args.command}: error: {e}")


if __name__ == "__main__":
    main()
