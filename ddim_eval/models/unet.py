"""The paper's U-Net as a diffusers `UNet2DModel`, built from the official config, and its `eps_model` callable.

The official network is described by its config (`ddim_eval.models.unet_config` maps it onto `UNet2DModel`
arguments); `ddim_eval.models.convert` renames the official checkpoints' keys.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from diffusers import UNet2DModel

from ddim_eval.models.fastpath import FastPath, fast_eps_model
from ddim_eval.models.unet_config import diffusers_config
from ddim_eval.sampling.common import EpsModel


def build_unet(cfg: Mapping[str, Any], device: torch.device | str | None = None) -> UNet2DModel:
    """An (untrained) `UNet2DModel` with the architecture of the official config `cfg`."""
    with torch.device(device or "cpu"):
        return UNet2DModel(**diffusers_config(cfg))


def eps_model_from_unet(unet: UNet2DModel) -> EpsModel:
    """The `eps_model(x, t)` callable of a diffusers U-Net in strict fp32 eager, eval mode (no dropout): the
    default of `ddim_eval.models.fastpath`, which runs it faster."""
    return fast_eps_model(unet, FastPath())[0]
