"""Moved to ddim_eval.data.arrays: an old import path, kept for existing scripts."""

from ddim_eval.data.arrays import load_images, save_image_stream, save_images

__all__ = ["load_images", "save_image_stream", "save_images"]
