"""What several commands share: argument types and groups, and building a model's eps callable from them."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ddim_eval.sampling.schedule import SPACINGS, timesteps
from ddim_eval.sampling.variants import SIGMA_HAT, Eta

if TYPE_CHECKING:  # the command line imports torch only in the commands that use it
    import torch

    from ddim_eval.models.registry import ModelSpec
    from ddim_eval.sampling.common import EpsModel

DTYPES = ("float32", "float16", "bfloat16")


def parse_eta(text: str) -> Eta:
    """An --eta value: a number, or sigma_hat."""
    return text if text == SIGMA_HAT else float(text)


def dtype(name: str) -> torch.dtype:
    import torch

    return getattr(torch, name)


def add_model_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--spacing", choices=sorted(SPACINGS), default=None, help="default: the model's paper spacing")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--device", default="cpu")
    p.add_argument("--dtype", choices=DTYPES, default="float32")
    p.add_argument("--cache-dir", default=None, help="checkpoint cache (default: $DDIM_EVAL_CACHE)")
    p.add_argument("--no-download", action="store_true", help="fail instead of downloading a missing checkpoint")


def add_extractor_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--extractor", default="inception-v3-compat", help="a torch-fidelity feature extractor name")
    p.add_argument("--layer", default=None, help="feature layer (default: the extractor's FID layer)")
    p.add_argument("--weights-path", default=None, help="local extractor weights (feature_extractor_weights_path)")


def eps_model(args: argparse.Namespace, spec: ModelSpec, random_weights: bool = False) -> EpsModel:
    """The eps callable of `spec`'s network on --device in --dtype: its checkpoint, or random weights."""
    from ddim_eval.models.checkpoints import load_unet
    from ddim_eval.models.unet import eps_model_from_unet

    if random_weights:
        from diffusers import UNet2DModel

        unet = UNet2DModel(**spec.unet_config()).to(args.device).eval().requires_grad_(False)
    else:
        unet = load_unet(spec, args.cache_dir, device=args.device, allow_download=not args.no_download)
    return eps_model_from_unet(unet.to(dtype(args.dtype)))


def cell_timesteps(args: argparse.Namespace, spec: ModelSpec) -> tuple[str, list[int]]:
    """(spacing, tau) of --steps with --spacing, else the model's paper spacing."""
    spacing = args.spacing or spec.spacing
    return spacing, timesteps(args.steps, spacing, spec.T)
