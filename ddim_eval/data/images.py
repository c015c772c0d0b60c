"""Conversions between the model's [-1, 1] space and uint8 pixels, exactly as the paper's PNGs were written."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor


def check_finite(x: Tensor, what: str = "samples") -> None:
    """Raise, naming how many values are bad, when `x` holds NaN or inf (a diverged model or sampler)."""
    bad = ~torch.isfinite(x)
    if bool(bad.any()):
        images = int(bad.flatten(1).any(1).sum()) if x.ndim > 1 else 1
        raise FloatingPointError(f"{what}: {int(bad.sum())} NaN/inf values in {images} of {len(x)} images")


def to_uint8(x: Tensor) -> Tensor:
    """[-1, 1] floats -> uint8, as torchvision's `save_image`: u = clamp((x + 1) / 2, 0, 1), floor(255 u + 0.5)."""
    return unit_to_uint8(to_unit(x))


def to_unit(x: Tensor) -> Tensor:
    """[-1, 1] floats -> float32 pixels in [0, 1] before rounding: u = clamp((x + 1) / 2, 0, 1)."""
    check_finite(x)
    return ((x.float() + 1) / 2).clamp_(0, 1)


def unit_to_uint8(u: Tensor) -> Tensor:
    """[0, 1] floats -> uint8 as `to_uint8` writes them: floor(255 clamp(u, 0, 1) + 0.5)."""
    check_finite(u)
    return (u.float().clamp(0, 1) * 255 + 0.5).floor_().to(torch.uint8)


def from_uint8(images: Tensor | np.ndarray) -> Tensor:
    """uint8 pixels -> float32 in [-1, 1] (x = 2u - 1, u = pixel / 255), the scaling the models were trained on."""
    # np.array copies: the input may be a read-only memory map, which torch cannot wrap.
    images = torch.from_numpy(np.array(images)) if isinstance(images, np.ndarray) else images
    if images.dtype != torch.uint8:
        raise ValueError(f"need uint8 pixels; got {images.dtype}")
    return images.float() / 127.5 - 1


def to_rgb(images: Tensor) -> Tensor:
    """Repeat a single channel three times (feature extractors take RGB); RGB passes through."""
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"need images [N, 1 or 3, H, W]; got shape {tuple(images.shape)}")
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
