"""Moved to ddim_eval.models.unet and ddim_eval.models.convert: an old import path, kept for existing scripts."""

from ddim_eval.models.convert import convert_official_state_dict, load_official_weights, strip_data_parallel
from ddim_eval.models.unet import build_unet, eps_model_from_unet

__all__ = [
    "build_unet",
    "convert_official_state_dict",
    "eps_model_from_unet",
    "load_official_weights",
    "strip_data_parallel",
]
