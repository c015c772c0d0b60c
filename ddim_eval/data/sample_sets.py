"""A sample set as a user saved it: a folder of PNG or JPEG images, an `.npz` in the layout of the guided-diffusion
(ADM) evaluation suite (`arr_0`, uint8 NHWC) or of a shard's `samples.npz` (`images`), or an `.npy` array (NCHW or
NHWC; uint8, or float in [0, 1] or [-1, 1]). Read batch by batch as uint8 NCHW pixels (50k images never in memory
at once); what was found (layout, range, how floats became pixels) is stated, and an input that reads two ways is
refused with the reason.
"""

from __future__ import annotations

import os
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG"}
MODES = {"L": 1, "RGB": 3}  # 8-bit grayscale and RGB, the pixels of the paper's PNGs
# The .npz arrays read as samples: guided-diffusion's (its evaluator reads arr_0, NHWC uint8) and ddim-eval's own
# (`sample --keep-samples` writes images, NCHW uint8).
NPZ_KEYS = ("arr_0", "images")


@dataclass(frozen=True)
class SampleSet:
    path: Path
    n: int
    shape: tuple[int, int, int]  # (C, H, W) of every image
    found: str  # what was read, in words: format, layout, range
    read: Callable[[int, int], np.ndarray]  # (start, stop) -> uint8 [stop - start, C, H, W]

    def batches(self, batch_size: int) -> Iterator[np.ndarray]:
        for start in range(0, self.n, batch_size):
            yield self.read(start, min(start + batch_size, self.n))


def open_sample_set(path: str | os.PathLike) -> SampleSet:
    """The sample set at `path` (a folder, an .npz or an .npy); ValueError naming the file and what is wrong."""
    path = Path(path)
    if path.is_dir():
        return _folder(path)
    if not path.is_file():
        raise ValueError(f"{path} does not exist; give a folder of PNG or JPEG images, an .npz (arr_0, uint8 NHWC) "
                         "or an .npy array")
    if path.suffix == ".npz":
        return _npz(path)
    if path.suffix == ".npy":
        return _npy(path)
    raise ValueError(f"{path}: not a sample set ddim-eval reads; give a folder of PNG or JPEG images, an .npz "
                     "(arr_0, uint8 NHWC) or an .npy array")


def image_words(shape: tuple[int, ...]) -> str:
    """(C, H, W) in words: "32x32 RGB", "8x8 grayscale"."""
    return f"{shape[2]}x{shape[1]} {'RGB' if shape[0] == 3 else 'grayscale'}"


# A folder of images.


def _header(file: Path) -> tuple[int, int, int]:
    """(C, H, W) from the image's header (nothing decoded yet)."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(file) as image:
            mode, (width, height) = image.mode, image.size
    except (UnidentifiedImageError, OSError) as e:
        raise ValueError(f"{file} is not a readable image ({e})") from None
    if mode not in MODES:
        raise ValueError(f"{file} has mode {mode}; ddim-eval reads 8-bit grayscale (L) or RGB images: convert the "
                         "set (an alpha channel or a palette is not part of a sample)")
    return MODES[mode], height, width


def _pixels(file: Path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(file) as image:
            array = np.asarray(image)
    except OSError as e:  # truncated or corrupt after a valid header
        raise ValueError(f"{file} is not a readable image ({e})") from None
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def _folder(path: Path) -> SampleSet:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise ValueError(f"{path}: the folder holds no PNG or JPEG images (.png, .jpg, .jpeg)")
    # Every header before any work: a set of mixed sizes or of grayscale and RGB images is refused at once.
    shape = _header(files[0])
    for file in files[1:]:
        other = _header(file)
        if other != shape:
            raise ValueError(f"{file} is {image_words(other)} but {files[0]} is {image_words(shape)}: every image "
                             "of a sample set must have one size and one colour mode")
    formats = Counter(IMAGE_SUFFIXES[p.suffix.lower()] for p in files)
    found = f"a folder of {' and '.join(f'{count} {kind}' for kind, count in sorted(formats.items()))} images"
    return SampleSet(path, len(files), shape, f"{found}, {image_words(shape)}",
                     lambda start, stop: np.stack([_pixels(f) for f in files[start:stop]]))


# Arrays.


def _layout(shape: tuple[int, ...], where: str) -> str:
    """'NCHW' or 'NHWC' for a 4-d array shape (or a 3-d one, N H W, grayscale); ValueError where it reads both
    ways or neither."""
    if len(shape) == 3:
        return "NHW"
    if len(shape) != 4:
        raise ValueError(f"{where}: need images [N, C, H, W] or [N, H, W, C]; got an array of shape {shape}")
    first, last = shape[1] in MODES.values(), shape[3] in MODES.values()
    if first and last:
        raise ValueError(f"{where}: shape {shape} reads as NCHW and as NHWC (channels {shape[1]} or {shape[3]}); "
                         "save it as uint8 [N, H, W, C] images of more than 3 pixels a side")
    if not (first or last):
        raise ValueError(f"{where}: shape {shape} has no channel axis of 1 or 3 (NCHW or NHWC)")
    return "NCHW" if first else "NHWC"


def _float_range(rows: Callable[[int, int], np.ndarray], n: int, where: str) -> tuple[float, float, str]:
    """(min, max, the range found) of n float samples, read batch by batch; ValueError for NaN or a range that is
    neither [0, 1] nor [-1, 1]."""
    low, high = np.inf, -np.inf
    for start in range(0, n, 1024):
        part = rows(start, min(start + 1024, n))
        if not np.isfinite(part).all():
            raise ValueError(f"{where}: the samples hold {int((~np.isfinite(part)).sum())} NaN/inf values "
                             f"(in images {start} to {start + len(part) - 1})")
        low, high = min(low, float(part.min())), max(high, float(part.max()))
    if low >= 0 and high <= 1:
        return low, high, "[0, 1]"
    if low >= -1 and high <= 1:
        return low, high, "[-1, 1]"
    raise ValueError(f"{where}: float values span [{low:.4g}, {high:.4g}]; ddim-eval reads float samples in [0, 1] "
                     "or [-1, 1] (save pixels as uint8)")


def _to_pixels(batch: np.ndarray, value_range: str | None) -> np.ndarray:
    """Float samples to the uint8 pixels a shard writes of them (`to_uint8`, the paper's PNGs)."""
    import torch

    from ddim_eval.data.images import to_uint8, unit_to_uint8

    if value_range is None:
        return batch
    x = torch.from_numpy(np.array(batch))
    return (to_uint8(x) if value_range == "[-1, 1]" else unit_to_uint8(x)).numpy()


def _array_set(path: Path, shape: tuple[int, ...], dtype: np.dtype, rows: Callable[[int, int], np.ndarray],
               what: str, where: str) -> SampleSet:
    """A set of `shape` and `dtype` whose images `rows(start, stop)` reads."""
    layout = _layout(shape, where)
    if shape[0] == 0:
        raise ValueError(f"{where}: the array holds no images (shape {shape})")
    if dtype == np.uint8:
        value_range, kind = None, "uint8 pixels"
    elif np.issubdtype(dtype, np.floating):
        low, high, value_range = _float_range(rows, shape[0], where)
        kind = (f"{dtype} in {value_range} (min {low:.3g}, max {high:.3g}), turned into uint8 pixels as the "
                "paper's PNGs were written")
    else:
        raise ValueError(f"{where}: dtype {dtype}; ddim-eval reads uint8 pixels or floats in [0, 1] or [-1, 1]")
    to_nchw = {"NCHW": lambda b: b, "NHWC": lambda b: b.transpose(0, 3, 1, 2), "NHW": lambda b: b[:, None]}[layout]
    image = to_nchw(np.empty((0, *shape[1:]), np.uint8)).shape[1:]

    def read(start: int, stop: int) -> np.ndarray:
        return np.array(_to_pixels(to_nchw(rows(start, stop)), value_range), order="C")  # a writable copy

    return SampleSet(path, shape[0], image, f"{what}: {layout} {kind}, {image_words(image)}", read)


def _npy(path: Path) -> SampleSet:
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as e:
        raise ValueError(f"{path} is not a readable .npy array ({e})") from None
    if not isinstance(array, np.ndarray):
        raise ValueError(f"{path} is an .npz archive named .npy; name it .npz")
    return _array_set(path, array.shape, array.dtype, lambda start, stop: np.asarray(array[start:stop]),
                      "an .npy array", str(path))


def _npz(path: Path) -> SampleSet:
    """The .npz's samples (`NPZ_KEYS`), read from the archive batch by batch (compressed or not), never whole."""
    try:
        archive = zipfile.ZipFile(path)
        names = [n.removesuffix(".npy") for n in archive.namelist()]
        key = next((k for k in NPZ_KEYS if k in names), None)
        if key is None:
            raise ValueError(f"{path} holds {sorted(names)}, none of {list(NPZ_KEYS)}: guided-diffusion's layout "
                             "keeps the samples in arr_0 (np.savez(path, samples)), ddim-eval's shards in images")
        member = archive.open(f"{key}.npy")
        version = np.lib.format.read_magic(member)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else \
            np.lib.format.read_array_header_2_0
        shape, fortran_order, dtype = read_header(member)
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        if str(e).startswith(str(path)):
            raise
        raise ValueError(f"{path} is not a readable .npz archive ({e})") from None
    where = f"{path} ({key})"
    if fortran_order or dtype.hasobject:
        raise ValueError(f"{where}: a Fortran-ordered or object array; save C-ordered uint8 [N, H, W, C] samples")
    offset, row = member.tell(), int(np.prod(shape[1:], dtype=np.int64)) * dtype.itemsize

    def rows(start: int, stop: int) -> np.ndarray:
        member.seek(offset + start * row)  # forward seeks: the batches come in order
        data = member.read((stop - start) * row)
        if len(data) != (stop - start) * row:
            raise ValueError(f"{where}: the archive ends before image {start + len(data) // row} of {shape[0]} "
                             "(truncated)")
        return np.frombuffer(data, dtype).reshape(stop - start, *shape[1:])

    return _array_set(path, shape, dtype, rows, f"an .npz ({key})", where)
