"""Image features in and out: uint8 batches through an extractor into float32 features and their streamed float64
statistics, and the features files (`features.npz`) that carry the extractor and layer that made them."""

from __future__ import annotations

import dataclasses
import itertools
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from ddim_eval.io import load_npz, save_npz, shard_order
from ddim_eval.metrics.stats import FeatureStats, from_features, merge, save_stats

if TYPE_CHECKING:  # reading features needs no extractor, nor torch-fidelity's seconds of imports
    from ddim_eval.metrics.extractors import Extractor


def batches(images: np.ndarray, batch_size: int) -> Iterator[Tensor]:
    """Image batches (uint8, or float pixels in [0, 1]) from an array (memory-mapped arrays are read one batch at a
    time)."""
    for start in range(0, len(images), batch_size):
        yield torch.from_numpy(np.array(images[start:start + batch_size]))  # a writable copy of the slice


def image_batches(images: Iterable[np.ndarray], batch_size: int) -> Iterator[Tensor]:
    """Batches of `batch_size` images from a stream of single images (the last batch may be smaller)."""
    images = iter(images)
    while batch := list(itertools.islice(images, batch_size)):
        yield torch.from_numpy(np.stack(batch))


def extract(extractor: Extractor, image_batches: Iterable[Tensor], *, total: int | None = None,
            progress: bool = True) -> tuple[np.ndarray, FeatureStats]:
    """Features of every batch (float32 [N, d]) and their float64 statistics, accumulated batch by batch."""
    chunks = []
    with tqdm(total=total, desc=f"features ({extractor.name})", unit="img", disable=not progress) as bar:
        for batch in image_batches:
            chunks.append(extractor(batch).numpy())
            bar.update(len(chunks[-1]))
    stats = chunk_stats(chunks, extractor.name, extractor.layer)
    return np.concatenate(chunks), stats


def chunk_stats(chunks: Sequence[np.ndarray], extractor: str, layer: str) -> FeatureStats:
    """The statistics of feature chunks, merged chunk by chunk in order (the same bits however the chunks were
    computed: in one run, or in runs resumed between chunks)."""
    stats = None
    for f in chunks:
        part = from_features(f, extractor, layer)
        stats = part if stats is None else merge(stats, part)
    if stats is None:
        raise ValueError("no images to extract features from")
    return stats


def save_features(path: str | os.PathLike, features: np.ndarray, extractor: str, layer: str) -> Path:
    """Write features (float32 [N, d]) with the extractor and layer that made them, atomically."""
    return save_npz(path, features=features.astype(np.float32), extractor=np.str_(extractor), layer=np.str_(layer))


def save_feature_set(out_dir: str | os.PathLike, features: np.ndarray, stats: FeatureStats) -> None:
    """`features.npz` and `stats.npz` of one image set in `out_dir`, each written atomically."""
    out_dir = Path(out_dir)
    save_features(out_dir / "features.npz", features, stats.extractor, stats.layer)
    save_stats(out_dir / "stats.npz", stats)


def save_reference_set(out_dir: str | os.PathLike, extractor: Extractor, images: np.ndarray, batch_size: int
                       ) -> FeatureStats:
    """Features and statistics of a reference split (uint8 [N, C, H, W]) in `out_dir`, the statistics recording the
    images' size (samples of another size are refused against them)."""
    features, stats = extract(extractor, batches(images, batch_size), total=len(images))
    stats = dataclasses.replace(stats, image_shape=tuple(images.shape[1:]))
    save_feature_set(out_dir, features, stats)
    return stats


def load_features(path: str | os.PathLike, extractor: str | None = None, layer: str | None = None) -> np.ndarray:
    """Read a features file, refusing one from another extractor or layer when those are given."""
    z = load_npz(path, ("features", "extractor", "layer"), "ddim-eval features")
    got = {"extractor": str(z["extractor"]), "layer": str(z["layer"])}
    for key, want in (("extractor", extractor), ("layer", layer)):
        if want is not None and got[key] != want:
            raise ValueError(f"{path} holds features of {got['extractor']} layer {got['layer']}; "
                             f"expected {key} {want!r}")
    return z["features"]


def load_feature_rows(paths: Sequence[str | os.PathLike], stats: FeatureStats, stats_path: str | os.PathLike
                      ) -> np.ndarray:
    """The features of `paths` in shard order (`shard_order`), concatenated (row i is sample i of the statistics),
    checked against the statistics they belong to: same extractor and layer, and as many rows as the statistics
    have samples."""
    paths = shard_order(paths)
    parts = [load_features(p, stats.extractor, stats.layer) for p in paths]
    rows = sum(len(p) for p in parts)
    if rows != stats.n:
        listed = ", ".join(f"{p} ({len(part)} rows)" for p, part in zip(paths, parts))
        raise ValueError(f"features files hold {rows} rows but {stats_path} holds statistics of {stats.n} samples: "
                         f"{listed}; pass the features of exactly the samples behind those statistics")
    return np.concatenate(parts)
