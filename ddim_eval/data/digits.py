"""The demo world's dataset: scikit-learn's bundled `load_digits` (1797 8x8 grayscale images, no download), split
once, reproducibly: a stratified 80/20 split with `random_state=0`, 1437 train and 360 test images."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ddim_eval.data.arrays import save_images

SPLITS = ("train", "test")
TEST_SIZE = 360
SEED = 0


def load(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The demo split `split` of scikit-learn's digits: (uint8 images [N, 1, 8, 8], int64 labels [N])."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if split not in SPLITS:
        raise ValueError(f"digits split {split!r} is not one of {list(SPLITS)}")
    digits = load_digits()
    # Pixel values are counts 0..16; scale to the 0..255 range every other dataset uses.
    images = np.floor(digits.images * (255 / 16) + 0.5).astype(np.uint8)[:, None]
    train, test = train_test_split(np.arange(len(images)), test_size=TEST_SIZE, random_state=SEED,
                                   stratify=digits.target)
    index = train if split == "train" else test
    return images[index], digits.target[index].astype(np.int64)


def prepare(out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write `train.npy` and `test.npy` of the digits demo dataset into `out_dir`."""
    return {split: save_images(Path(out_dir) / f"{split}.npy", load(split)[0]) for split in SPLITS}
