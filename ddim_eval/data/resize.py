"""Resize filters for the sources whose preparation resizes (CelebA's crop and resize to 64, LSUN's resize to 256):
the paper's, and the common others a reference set is made with elsewhere, so that the protocol study can
re-prepare a reference with another filter and measure what that does to FID.

The paper's code resized with torchvision's `Resize` on PIL images: bilinear, and antialiased, as PIL always is.
The others: PIL's bicubic, Lanczos, box (area average) and nearest filters, and `bilinear-aliased`, the bilinear
filter without antialiasing that `torch.nn.functional.interpolate` (and torchvision's `Resize` on tensors with
antialias=False) applies, which the clean-fid paper found to move FID most.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

PAPER_FILTER = "bilinear"
# filter name -> torchvision's InterpolationMode name, and whether it antialiases.
FILTERS = {"bilinear": ("BILINEAR", True), "bicubic": ("BICUBIC", True), "lanczos": ("LANCZOS", True),
           "box": ("BOX", True), "nearest": ("NEAREST", True), "bilinear-aliased": ("BILINEAR", False)}


def check_filter(name: str) -> str:
    if name not in FILTERS:
        raise ValueError(f"resize filter {name!r}: allowed {list(FILTERS)}")
    return name


def resize(image: Image.Image, size: int, name: str = PAPER_FILTER) -> Image.Image:
    """An RGB image with its shorter side resized to `size` (torchvision `Resize(size)`) by the filter `name`."""
    import torch
    import torchvision.transforms.functional as TF

    mode, antialias = FILTERS[check_filter(name)]
    interpolation = TF.InterpolationMode[mode]
    if antialias:  # PIL's filters, which always antialias
        return TF.resize(image, size, interpolation=interpolation, antialias=True)
    pixels = torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy())
    resized = TF.resize(pixels[None].float(), size, interpolation=interpolation, antialias=False)[0]
    return Image.fromarray(resized.round().clamp(0, 255).byte().numpy().transpose(1, 2, 0))
