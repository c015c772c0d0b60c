"""LSUN bedroom and church_outdoor at 256x256, as the DDPM/DDIM code prepared them.

The training sets are LMDB databases of encoded images (keys in database order). Each image is resized so its
shorter side is 256 (torchvision Resize: bilinear, antialiased) and centre-cropped to 256x256. The paper does not
say which images formed its FID reference; ddim-eval takes the first `max_images` in database order (the
workflow requires the number: bedroom alone holds 3 million images). LSUN publishes no checksums.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ddim_eval.data.arrays import save_image_stream
from ddim_eval.data.resize import PAPER_FILTER, check_filter, resize
from ddim_eval.fetch import fetch_file

CATEGORIES = ("bedroom", "church_outdoor")
SPLITS = ("train",)  # the training LMDBs only
RESOLUTION = 256
SIZES = {"bedroom": "43 GB", "church_outdoor": "2.3 GB"}


def archive_url(category: str) -> str:
    return f"http://dl.yf.io/lsun/scenes/{_check_category(category)}_train_lmdb.zip"


def _check_category(category: str) -> str:
    if category not in CATEGORIES:
        raise ValueError(f"LSUN category {category!r} is not one of {list(CATEGORIES)}")
    return category


def lmdb_dir(root: str | os.PathLike, category: str) -> Path:
    """Where the unpacked training LMDB of `category` lives under `root` (the archive's own folder name)."""
    return Path(root) / f"{_check_category(category)}_train_lmdb"


def manual_instruction(category: str) -> str:
    return (f"download {archive_url(category)} ({SIZES[category]}; `python download.py -c {category}` from "
            f"https://github.com/fyu/lsun fetches the same file)")


def fetch(root: str | os.PathLike, category: str, *, allow_download: bool = True) -> Path:
    """The unpacked training LMDB of `category` under `root`: downloaded (resumable) and unzipped when missing.
    The archive is removed once unpacked; the unpacking is atomic (a temp folder, then rename)."""
    root, target = Path(root), lmdb_dir(root, category)
    if (target / "data.mdb").is_file():
        return target
    archive = root / f"{category}_train_lmdb.zip"
    fetch_file(archive_url(category), archive, manual=manual_instruction(category),
               allow_download=allow_download, what=f"LSUN {category}")
    with tempfile.TemporaryDirectory(dir=root, prefix=f".{category}.") as tmp:
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
        unpacked = Path(tmp) / target.name
        if not (unpacked / "data.mdb").is_file():
            raise ValueError(f"{archive} holds no {target.name}/data.mdb: not the LSUN {category} training archive. "
                             + manual_instruction(category))
        shutil.rmtree(target, ignore_errors=True)
        os.replace(unpacked, target)
    archive.unlink()
    return target


def preprocess(image: Image.Image, resize_filter: str = PAPER_FILTER) -> np.ndarray:
    """One LSUN image -> uint8 CHW [3, 256, 256]: shorter side resized to 256 by `resize_filter` (the paper's:
    bilinear, antialiased), then centre-cropped."""
    import torchvision.transforms.functional as TF

    image = resize(image.convert("RGB"), RESOLUTION, resize_filter)
    return np.asarray(TF.center_crop(image, RESOLUTION)).transpose(2, 0, 1)


@contextlib.contextmanager
def images(database: str | os.PathLike, *, max_images: int,
           resize_filter: str = PAPER_FILTER) -> Iterator[tuple[Iterator[np.ndarray], int]]:
    """The first `max_images` images of an LSUN LMDB (in key order), prepared one at a time, and how many there
    are, while the database is open."""
    import lmdb

    database = Path(database)
    if not (database / "data.mdb").is_file():
        raise FileNotFoundError(f"{database} is not an LMDB folder (no data.mdb)")
    check_filter(resize_filter)
    env = lmdb.open(str(database), readonly=True, lock=False, readahead=False, max_readers=1, subdir=True)
    try:
        n = min(max_images, env.stat()["entries"])

        def stream() -> Iterator[np.ndarray]:
            with env.begin(write=False) as txn:
                for i, (key, value) in enumerate(txn.cursor()):
                    if i == n:
                        return
                    try:
                        image = Image.open(io.BytesIO(value))
                        image.load()
                    except OSError as e:
                        raise ValueError(f"{database}: entry {key!r} is not a readable image ({e})") from None
                    yield preprocess(image, resize_filter)

        yield stream(), n
    finally:
        env.close()


def prepare(database: str | os.PathLike, out: str | os.PathLike, *, max_images: int) -> Path:
    """Write the first `max_images` images of an LSUN LMDB (in key order) as a prepared uint8 array at `out`."""
    with images(database, max_images=max_images) as (stream, n):
        return save_image_stream(out, stream, n, (3, RESOLUTION, RESOLUTION))
