"""Prepared image arrays: the on-disk format every dataset is turned into before sampling or reference statistics.

A prepared split is one `.npy` file holding uint8 images in NCHW layout (the pixels the paper's PNGs would hold),
read memory-mapped so a 50k-image split never has to be loaded at once. The demo world's dataset, `digits`, is
scikit-learn's bundled `load_digits` (1797 8x8 grayscale images, no download), split once, reproducibly:
a stratified 80/20 split with `random_state=0`, 1437 train and 360 test images.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from ddim_eval.io import atomic_path

DIGITS_SPLITS = ("train", "test")
# The official CIFAR-10 archive (python version): where it comes from and its published md5.
CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_MD5 = "c58f30108f718f92721af3b95e74349a"
_CIFAR10_MEMBERS = {"train": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
                    "test": ["cifar-10-batches-py/test_batch"]}
CIFAR10_SPLITS = tuple(_CIFAR10_MEMBERS)
DIGITS_TEST_SIZE = 360
DIGITS_SEED = 0


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
    images = np.load(path, mmap_mode="r", allow_pickle=False)
    _check_images(images, str(path))
    return images


def _check_images(images: np.ndarray, where: str) -> None:
    if images.dtype != np.uint8 or images.ndim != 4:
        raise ValueError(f"{where}: need uint8 images [N, C, H, W]; got {images.dtype} with shape {images.shape}")
    if len(images) == 0:
        raise ValueError(f"{where}: the split is empty (0 images)")
    if images.shape[1] not in (1, 3):
        raise ValueError(f"{where}: need 1 or 3 channels (NCHW); got shape {images.shape}")


def digits_split(split: str) -> tuple[np.ndarray, np.ndarray]:
    """The demo split `split` of scikit-learn's digits: (uint8 images [N, 1, 8, 8], int64 labels [N])."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if split not in DIGITS_SPLITS:
        raise ValueError(f"digits split {split!r} is not one of {list(DIGITS_SPLITS)}")
    digits = load_digits()
    # Pixel values are counts 0..16; scale to the 0..255 range every other dataset uses.
    images = np.floor(digits.images * (255 / 16) + 0.5).astype(np.uint8)[:, None]
    train, test = train_test_split(np.arange(len(images)), test_size=DIGITS_TEST_SIZE, random_state=DIGITS_SEED,
                                   stratify=digits.target)
    index = train if split == "train" else test
    return images[index], digits.target[index].astype(np.int64)


def prepare_digits(out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write `train.npy` and `test.npy` of the digits demo dataset into `out_dir`."""
    return {split: save_images(Path(out_dir) / f"{split}.npy", digits_split(split)[0]) for split in DIGITS_SPLITS}


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, bytes and numpy arrays, and refuses every other global: a downloaded pickle can
    then build data but never call code."""

    # _codecs.encode (str -> bytes) is how Python 3 writes bytes in protocol 2; it runs no other code.
    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to unpickle {module}.{name} (only numpy arrays are allowed)")
        return super().find_class(module, name)


def _cifar10_batch(tar: tarfile.TarFile, member: str, archive: Path) -> np.ndarray:
    try:
        f = tar.extractfile(member)
    except KeyError:
        raise ValueError(f"{archive} has no {member}: not the CIFAR-10 python archive") from None
    batch = _ArrayUnpickler(io.BytesIO(f.read()), encoding="bytes").load()
    data = np.asarray(batch[b"data"], dtype=np.uint8)
    return data.reshape(len(data), 3, 32, 32)  # rows are 1024 R, then G, then B values, each row-major


def prepare_cifar10(archive: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write `train.npy` (50k, data_batch_1..5 in order) and `test.npy` (10k) from the CIFAR-10 python archive."""
    archive = Path(archive)
    with tarfile.open(archive, "r:gz") as tar:
        return {split: save_images(Path(out_dir) / f"{split}.npy",
                                   np.concatenate([_cifar10_batch(tar, m, archive) for m in members]))
                for split, members in _CIFAR10_MEMBERS.items()}
