"""Small shared builders for the tests."""

import pathlib

import torch

from ddim_eval.unet import build_unet, eps_model_from_unet

TINY_UNET = dict(ch=32, ch_mult=[1, 2], num_res_blocks=1, attn_resolutions=[4], dropout=0.0, resolution=8,
                 in_channels=3, out_ch=3, resamp_with_conv=True)


def tiny_unet(seed: int = 0, dtype: torch.dtype = torch.float32):
    """A small random DDPM U-Net (8x8, official architecture) whose output depends on t."""
    torch.manual_seed(seed)
    unet = build_unet(TINY_UNET).to(dtype)
    # diffusers zero-initialises nothing here, but scale up the output so eps is O(1) and errors show.
    return unet, eps_model_from_unet(unet)


class Payload:
    """Unpickling this creates the file `target`: proof of whether a loader runs pickled code."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.target),)
