"""The converter from the official checkpoint layout (ermongroup/ddim `models/diffusion.py`, itself a port of
DDPM's) to diffusers' `UNet2DModel` keys: a renaming, and 1x1 attention convolutions to linear weights."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from diffusers import UNet2DModel
from torch import Tensor

# Official name -> diffusers name, applied in order to each key. Up-block levels are renumbered separately
# (the official `up.i` is level i, diffusers' `up_blocks` run from the deepest level up).
_RENAMES: list[tuple[str, str]] = [
    (r"^temb\.dense\.0\.", "time_embedding.linear_1."),
    (r"^temb\.dense\.1\.", "time_embedding.linear_2."),
    (r"^norm_out\.", "conv_norm_out."),
    (r"^mid\.block_1\.", "mid_block.resnets.0."),
    (r"^mid\.attn_1\.", "mid_block.attentions.0."),
    (r"^mid\.block_2\.", "mid_block.resnets.1."),
    (r"^(down|up)_blocks\.(\d+)\.block\.", r"\1_blocks.\2.resnets."),
    (r"^(down|up)_blocks\.(\d+)\.attn\.", r"\1_blocks.\2.attentions."),
    (r"^down_blocks\.(\d+)\.downsample\.", r"down_blocks.\1.downsamplers.0."),
    (r"^up_blocks\.(\d+)\.upsample\.", r"up_blocks.\1.upsamplers.0."),
    (r"\.temb_proj\.", ".time_emb_proj."),
    (r"\.nin_shortcut\.", ".conv_shortcut."),
    (r"(attentions\.\d+)\.norm\.", r"\1.group_norm."),
    (r"(attentions\.\d+)\.q\.", r"\1.to_q."),
    (r"(attentions\.\d+)\.k\.", r"\1.to_k."),
    (r"(attentions\.\d+)\.v\.", r"\1.to_v."),
    (r"(attentions\.\d+)\.proj_out\.", r"\1.to_out.0."),
]
_ATTN_PROJECTION = re.compile(r"attentions\.\d+\.(to_q|to_k|to_v|to_out\.0)\.weight$")


def _diffusers_key(key: str, levels: int) -> str:
    key = re.sub(r"^down\.(\d+)\.", r"down_blocks.\1.", key)
    key = re.sub(r"^up\.(\d+)\.", lambda m: f"up_blocks.{levels - 1 - int(m.group(1))}.", key)
    for pattern, repl in _RENAMES:
        key = re.sub(pattern, repl, key)
    return key


def strip_data_parallel(state_dict: Mapping[str, Tensor]) -> dict[str, Tensor]:
    """Drop the `module.` prefix that torch.nn.DataParallel puts on every key (as in the CelebA ckpt.pth)."""
    if state_dict and all(k.startswith("module.") for k in state_dict):
        return {k[len("module."):]: v for k, v in state_dict.items()}
    return dict(state_dict)


def convert_official_state_dict(state_dict: Mapping[str, Tensor], cfg: Mapping[str, Any]) -> dict[str, Tensor]:
    """Rename an official-layout state dict (with or without `module.`) to `build_unet(cfg)`'s keys."""
    levels = len(cfg["ch_mult"])
    converted = {}
    for key, value in strip_data_parallel(state_dict).items():
        new_key = _diffusers_key(key, levels)
        # The official attention projections are 1x1 convolutions; diffusers uses linear layers.
        if _ATTN_PROJECTION.search(new_key) and value.dim() == 4:
            value = value[:, :, 0, 0]
        converted[new_key] = value
    return converted


def load_official_weights(unet: UNet2DModel, state_dict: Mapping[str, Tensor], cfg: Mapping[str, Any],
                          assign: bool = False) -> UNet2DModel:
    """Load official-layout weights into `unet` (strict: every key and shape must match)."""
    converted = convert_official_state_dict(state_dict, cfg)
    expected = unet.state_dict()
    missing, unexpected = sorted(set(expected) - set(converted)), sorted(set(converted) - set(expected))
    if missing or unexpected:
        raise ValueError(f"state dict does not match the U-Net of config {dict(cfg)}: "
                         f"missing {missing[:5]}{'...' if len(missing) > 5 else ''} ({len(missing)}), "
                         f"unexpected {unexpected[:5]}{'...' if len(unexpected) > 5 else ''} ({len(unexpected)})")
    unet.load_state_dict(converted, strict=True, assign=assign)
    return unet
