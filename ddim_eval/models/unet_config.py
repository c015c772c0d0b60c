"""The official U-Net config (ermongroup/ddim `models/diffusion.py`) as `UNet2DModel` arguments.

Plain data, no torch: the model registry validates configs with it, and the workflow reads the registry while it
builds its DAG. The config's fields: ch, ch_mult, num_res_blocks, attn_resolutions, dropout, resolution,
in_channels, out_ch, resamp_with_conv.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

OFFICIAL_CONFIG_KEYS = frozenset(
    {"ch", "ch_mult", "num_res_blocks", "attn_resolutions", "dropout", "resolution", "in_channels", "out_ch",
     "resamp_with_conv"})


def _check_official_config(cfg: Mapping[str, Any]) -> None:
    missing, unknown = OFFICIAL_CONFIG_KEYS - set(cfg), set(cfg) - OFFICIAL_CONFIG_KEYS
    if missing or unknown:
        raise ValueError(f"official U-Net config: missing keys {sorted(missing)}, unknown keys {sorted(unknown)}; "
                         f"allowed: {sorted(OFFICIAL_CONFIG_KEYS)}")
    if not cfg["resamp_with_conv"]:
        raise ValueError("resamp_with_conv=False (average-pool resampling) has no UNet2DModel equivalent; "
                         "only resamp_with_conv=True is supported")
    if cfg["resolution"] % 2 ** (len(cfg["ch_mult"]) - 1):
        raise ValueError(f"resolution {cfg['resolution']} is not divisible by 2^(len(ch_mult)-1) for "
                         f"ch_mult={list(cfg['ch_mult'])}")


def diffusers_config(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """`UNet2DModel` arguments that reproduce the official network with config `cfg`."""
    _check_official_config(cfg)
    levels = len(cfg["ch_mult"])
    # Level i works at resolution resolution / 2^i and has attention when that resolution is listed.
    attn = [cfg["resolution"] // 2**i in set(cfg["attn_resolutions"]) for i in range(levels)]
    return dict(
        sample_size=cfg["resolution"],
        in_channels=cfg["in_channels"],
        out_channels=cfg["out_ch"],
        block_out_channels=[cfg["ch"] * m for m in cfg["ch_mult"]],
        layers_per_block=cfg["num_res_blocks"],
        down_block_types=["AttnDownBlock2D" if a else "DownBlock2D" for a in attn],
        up_block_types=["AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attn)],
        dropout=cfg["dropout"],
        # The official timestep embedding: sin before cos, frequencies exp(-log(1e4) i / (half - 1)).
        time_embedding_type="positional",
        flip_sin_to_cos=False,
        freq_shift=1,
        # Official Downsample pads (0, 1, 0, 1) and convolves with stride 2, padding 0.
        downsample_padding=0,
        act_fn="silu",
        norm_num_groups=32,
        norm_eps=1e-6,
        # One attention head over all channels, as the official AttnBlock.
        attention_head_dim=None,
        center_input_sample=False,
        mid_block_scale_factor=1,
    )
