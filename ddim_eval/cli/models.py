"""Commands about the models: list the registry, fetch checkpoints, train the demo's DDPM and feature CNN."""

from __future__ import annotations

import argparse

from ddim_eval.cli.args import add_device_arg, positive


def _models(args: argparse.Namespace) -> None:
    from ddim_eval.models.registry import load_registry

    for name, spec in load_registry().items():
        digest = f"md5 {spec.md5}" if spec.md5 else f"sha256 {spec.sha256}" if spec.sha256 else "pinned on first use"
        print(f"{name}: {spec.image_shape} {spec.spacing} tau, T={spec.T}, {spec.checkpoint_file} ({digest})")
        print(f"    {spec.note}")


def _fetch(args: argparse.Namespace) -> None:
    from ddim_eval.models.checkpoints import fetch_checkpoint
    from ddim_eval.models.registry import get_model_spec

    for name in args.models:
        print(fetch_checkpoint(get_model_spec(name), args.cache_dir))


def _train(args: argparse.Namespace) -> None:
    import torch
    from diffusers import UNet2DModel

    from ddim_eval.data.arrays import load_images
    from ddim_eval.fetch import file_digest
    from ddim_eval.models.registry import get_model_spec
    from ddim_eval.models.train import save_weights, train_ddpm

    spec = get_model_spec(args.model)
    images = load_images(args.data)
    if images.shape[1:] != spec.image_shape:
        raise ValueError(f"{args.data} holds images of shape {images.shape[1:]}; model {spec.name!r} takes "
                         f"{spec.image_shape}")
    torch.manual_seed(args.seed)
    unet = UNet2DModel(**spec.unet_config())
    ema = train_ddpm(unet, images, spec.alphas_cumprod(), steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                     ema_decay=args.ema_decay, seed=args.seed, device=args.device)
    for out, model in ((args.out, ema), (args.raw_out, unet)):
        if out:
            path = save_weights(out, model)
            print(f"{path}: sha256 {file_digest(path, 'sha256')}")


def _train_digits_cnn(args: argparse.Namespace) -> None:
    from ddim_eval.data import digits
    from ddim_eval.fetch import file_digest
    from ddim_eval.metrics.digits_cnn import accuracy, train_digits_cnn
    from ddim_eval.models.train import save_weights

    train, test = digits.load("train"), digits.load("test")
    model = train_digits_cnn(*train, epochs=args.epochs, seed=args.seed)
    path = save_weights(args.out, model)
    print(f"digits-cnn test accuracy {accuracy(model, *test):.4f} (train {accuracy(model, *train):.4f})")
    print(f"{path}: sha256 {file_digest(path, 'sha256')}")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("models", help="list the registered models")
    p.set_defaults(func=_models)

    p = sub.add_parser("fetch", help="download and verify checkpoints into the cache")
    p.add_argument("models", nargs="+")
    p.add_argument("--cache-dir", default=None, help="default: $DDIM_EVAL_CACHE or ~/.cache/ddim-eval")
    p.set_defaults(func=_fetch)

    p = sub.add_parser("train", help="train a registered diffusers_unet model from scratch (DDPM objective, EMA)")
    p.add_argument("model", help="registry name, e.g. digits")
    p.add_argument("data", help="prepared training array (.npy, uint8 NCHW)")
    p.add_argument("out", help="where to write the EMA weights (.safetensors)")
    p.add_argument("--raw-out", help="where to write the trained weights without EMA too (the demo's digits_no_ema)")
    p.add_argument("--steps", type=positive, default=5000)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--ema-decay", type=float, default=0.999)
    p.add_argument("--seed", type=int, default=0)
    add_device_arg(p)
    p.set_defaults(func=_train)

    p = sub.add_parser("train-digits-cnn", help="train the demo's feature extractor (digits-cnn) on the train split")
    p.add_argument("out", help="where to write its weights (.safetensors)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_train_digits_cnn)
