"""CIFAR-10 from the official python archive: the 50k training and 10k test images, in archive order.

The archive's batches are pickles; they are read by an unpickler that builds numpy arrays and refuses any other
object, so a tampered archive cannot run code.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np

from ddim_eval.data.arrays import save_images
from ddim_eval.fetch import fetch_file

URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"  # published on the CIFAR-10 page
_MEMBERS = {"train": [f"cifar-10-batches-py/data_batch_{i}" for i in range(1, 6)],
            "test": ["cifar-10-batches-py/test_batch"]}
SPLITS = tuple(_MEMBERS)


def fetch(dest: str | os.PathLike, *, allow_download: bool = True) -> Path:
    """The archive at `dest`, md5-verified, downloaded (resumably) when missing."""
    return fetch_file(URL, Path(dest), md5=MD5, allow_download=allow_download, what="the CIFAR-10 archive")


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


def prepare(archive: str | os.PathLike, out_dir: str | os.PathLike) -> dict[str, Path]:
    """Write `train.npy` (50k, data_batch_1..5 in order) and `test.npy` (10k) from the CIFAR-10 python archive."""
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"the CIFAR-10 archive {archive} does not exist; `ddim-eval fetch-cifar10` downloads "
                                "it")
    try:
        with tarfile.open(archive, "r:gz") as tar:
            return {split: save_images(Path(out_dir) / f"{split}.npy",
                                       np.concatenate([_cifar10_batch(tar, m, archive) for m in members]))
                    for split, members in _MEMBERS.items()}
    except (tarfile.TarError, EOFError, OSError) as e:  # a damaged or truncated download, or another file
        raise ValueError(f"{archive} is not a readable CIFAR-10 archive ({type(e).__name__}: {e}); delete it and run "
                         "`ddim-eval fetch-cifar10` again (it verifies the md5)") from None
