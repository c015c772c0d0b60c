"""Prepared image arrays: the on-disk format every dataset is turned into before sampling or reference statistics.

A prepared split is one `.npy` file holding uint8 images in NCHW layout (the pixels the paper's PNGs would hold),
read memory-mapped so a 50k-image split never has to be loaded at once.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ddim_eval.io import atomic_path


def save_images(path: str | os.PathLike, images: np.ndarray) -> Path:
    """Write a prepared split atomically (a temp file in the same folder, then rename)."""
    path = Path(path)
    _check_images(images, str(path))
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.save(f, np.ascontiguousarray(images))
    return path


def save_image_stream(path: str | os.PathLike, images: Iterable[np.ndarray], n: int,
                      shape: tuple[int, int, int], *, progress: bool = True) -> Path:
    """Write `n` uint8 CHW images of `shape`, one at a time, into a prepared split: memory-mapped, so a large split
    never has to fit in memory, and atomic, so an interrupted run leaves no partial split."""
    path = Path(path)
    if n < 1:
        raise ValueError(f"{path}: a split needs at least one image; got n={n}")
    with atomic_path(path) as tmp:
        out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(n, *shape))
        count = 0
        for count, image in enumerate(tqdm(images, total=n, desc=path.name, unit="img", disable=not progress), 1):
            if count > n:
                raise ValueError(f"{path}: more than the {n} images announced")
            if image.shape != shape or image.dtype != np.uint8:
                raise ValueError(f"{path}: image {count - 1} is {image.dtype} {image.shape}; need uint8 {shape}")
            out[count - 1] = image
        if count != n:
            raise ValueError(f"{path}: got {count} images; expected {n}")
        out.flush()
        del out
    return path


def load_images(path: str | os.PathLike) -> np.ndarray:
    """A prepared split, memory-mapped: uint8 [N, C, H, W] with N > 0."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"prepared image array {path} does not exist")
    try:
        images = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ValueError(f"{path} is not a prepared split (a .npy array of uint8 images [N, C, H, W]): {e}") from None
    if not isinstance(images, np.ndarray):  # an .npz archive
        raise ValueError(f"{path} is an .npz archive, not a prepared split (a .npy array of uint8 images [N, C, H, W])")
    _check_images(images, str(path))
    return images


def _check_images(images: np.ndarray, where: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"{where}: need uint8 images [N, C, H, W]; got {images.dtype} with shape {images.shape}")
    if len(images) == 0:
        raise ValueError(f"{where}: the split is empty (0 images)")
    if images.shape[1] not in (1, 3):
        raise ValueError(f"{where}: need 1 or 3 channels (NCHW); got shape {images.shape}")
