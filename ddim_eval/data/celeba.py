"""CelebA 64x64 as the DDIM authors prepared it: the aligned 178x218 images, cropped, then resized.

The official code crops the 128x128 box with top 57 and left 25 (centre x 89, y 121) and resizes it to 64 with
torchvision's Resize (bilinear, antialiased; `ddim_eval.data.resize` has the other filters). Splits follow
`list_eval_partition.txt` (0 train, 1 valid, 2 test; 162,770 / 19,867 / 19,962 images). Both files come from the
CelebA Google Drive, which often refuses automatic downloads (quota): then the user places them by hand, checked
against the md5s torchvision publishes.
"""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from PIL import Image

from ddim_eval.data.arrays import save_image_stream
from ddim_eval.data.resize import PAPER_FILTER, check_filter, resize
from ddim_eval.fetch import fetch_file, verify_file

# name: (Google Drive file id, md5), as torchvision.datasets.CelebA lists them.
FILES = {
    "img_align_celeba.zip": ("0B7EVK8r0v71pZjFTYXZWM3FlRnM", "00d2c5bc6d35e252742224ab0c1e8fcb"),
    "list_eval_partition.txt": ("0B7EVK8r0v71pY0NSMzRuSXJEVkk", "d32c9cbf5e040fd4025c592c306e6668"),
}
PROJECT_PAGE = "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html"
SPLITS = {"train": "0", "valid": "1", "test": "2"}
RESOLUTION = 64
# Crops of the aligned 178x218 images, name -> (top, left, size): the paper's 128 box centred on (x 89, y 121), and
# the centre squares other code bases take (torchvision's CenterCrop): 140 (NCSN, NCSNv2, score_sde), 108 (DCGAN),
# 178 (the whole width: Resize(64) then CenterCrop(64)).
PAPER_CROP = "ddim"
CROPS = {PAPER_CROP: (57, 25, 128),
         **{f"center-{size}": (round((218 - size) / 2), round((178 - size) / 2), size) for size in (140, 108, 178)}}


def drive_url(file_id: str) -> str:
    return f"https://drive.usercontent.google.com/download?id={file_id}&export=download&confirm=t"


def manual_instruction(name: str) -> str:
    file_id, _ = FILES[name]
    return (f"open https://drive.google.com/file/d/{file_id}/view (or {PROJECT_PAGE}: Align&Cropped Images / "
            f"Eval) in a browser and download {name}")


def fetch(out_dir: str | os.PathLike, *, allow_download: bool = True) -> dict[str, Path]:
    """Both CelebA files in `out_dir`, md5-verified, downloaded from Google Drive when missing."""
    return {name: fetch_file(drive_url(file_id), Path(out_dir) / name, md5=md5, manual=manual_instruction(name),
                             allow_download=allow_download, what=f"CelebA's {name}")
            for name, (file_id, md5) in FILES.items()}


def split_files(partition: str | os.PathLike, split: str) -> list[str]:
    """Image file names of `split`, in the partition file's order."""
    if split not in SPLITS:
        raise ValueError(f"CelebA split {split!r} is not one of {list(SPLITS)}")
    names = []
    for number, line in enumerate(Path(partition).read_text().splitlines(), 1):
        fields = line.split()
        if len(fields) != 2 or fields[1] not in SPLITS.values():
            raise ValueError(f"{partition}:{number}: expected '<image>.jpg <0|1|2>', got {line!r}")
        if fields[1] == SPLITS[split]:
            names.append(fields[0])
    return names


def check_crop(name: str) -> str:
    if name not in CROPS:
        raise ValueError(f"CelebA crop {name!r}: allowed {list(CROPS)}")
    return name


def preprocess(image: Image.Image, resize_filter: str = PAPER_FILTER, crop: str = PAPER_CROP) -> np.ndarray:
    """One aligned CelebA image -> uint8 CHW [3, 64, 64], cropped by `crop` and resized by `resize_filter` (the
    paper's: its 128 box, bilinear and antialiased)."""
    import torchvision.transforms.functional as TF

    if image.size != (178, 218):
        raise ValueError(f"expected an aligned CelebA image of 178x218 (width x height); got {image.size}")
    top, left, size = CROPS[check_crop(crop)]
    image = TF.crop(image.convert("RGB"), top, left, size, size)
    return np.asarray(resize(image, RESOLUTION, resize_filter)).transpose(2, 0, 1)


def images(archive: str | os.PathLike, partition: str | os.PathLike, split: str, *, max_images: int | None = None,
           resize_filter: str = PAPER_FILTER, crop: str = PAPER_CROP,
           verify: bool = True) -> tuple[Iterator[np.ndarray], int]:
    """The images of `split` (its first `max_images`, or all), prepared one at a time (cropped by `crop`, resized by
    `resize_filter`), and how many there are."""
    if verify:
        for path, name in ((archive, "img_align_celeba.zip"), (partition, "list_eval_partition.txt")):
            verify_file(Path(path), md5=FILES[name][1])
    names = split_files(partition, split)[:max_images]
    check_filter(resize_filter), check_crop(crop)

    def stream() -> Iterator[np.ndarray]:
        with zipfile.ZipFile(archive) as z:
            for name in names:
                try:
                    data = z.read(f"img_align_celeba/{name}")
                except KeyError:
                    raise ValueError(f"{archive} has no img_align_celeba/{name}: not CelebA's aligned images "
                                     "archive") from None
                yield preprocess(Image.open(io.BytesIO(data)), resize_filter, crop)

    return stream(), len(names)


def prepare(archive: str | os.PathLike, partition: str | os.PathLike, out: str | os.PathLike, split: str, *,
            max_images: int | None = None, verify: bool = True) -> Path:
    """Write `split` (its first `max_images` images, or all) as a prepared uint8 array at `out`."""
    stream, n = images(archive, partition, split, max_images=max_images, verify=verify)
    return save_image_stream(out, stream, n, (3, RESOLUTION, RESOLUTION))
