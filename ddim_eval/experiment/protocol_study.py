"""The protocol study of a run: the FID shift of each common deviation from the paper's protocol, measured on the
kept samples of one cell (config `protocol_study`), each with a paired bootstrap interval (`metrics.protocol`).

The paper's protocol is the run's: the samples as uint8 (lossless), all n of them, against the whole reference
split, through the run's extractor. Each deviation changes one thing: the reference (another split, fewer images, or
prepared anew from the downloads with another resize filter or CelebA crop), the sample count (the first k samples,
with FID_inf beside each count), the storage (JPEG, unrounded floats), the extractor, or (cells of their own from
the same x_T, paired as the tables' cells are) the tau spacing and the weights.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddim_eval.experiment.cells import data_path, max_images, protocol_cells, reference_preparations, shards
from ddim_eval.io import load_json, load_npz
from ddim_eval.metrics.bootstrap import Replicated, paired_difference, replicated, resample_counts

PAPER = "paper's protocol"
# A reference preparation's deviation -> the keyword of the data source's `images` that makes it.
PREPARED_BY = {"resize": "resize_filter", "crop": "crop"}


def _row(deviation: str, setting: str, value: Replicated, paper: Replicated, level: float, **extra: Any) -> dict:
    """A row of the study: the FID under the deviation with its interval, and its shift from the paper's protocol
    with the paired interval."""
    low, high = value.interval(level)
    row = {"deviation": deviation, "setting": setting, "fid": value.value, "fid_ci_low": low, "fid_ci_high": high}
    if deviation != PAPER:
        shift = paired_difference(value, paper, level)
        row |= {"shift": shift["difference"], "shift_ci_low": shift["ci_low"], "shift_ci_high": shift["ci_high"],
                "significant": shift["significant"]}
    return row | extra


@dataclasses.dataclass
class _Cell:
    """A cell's features and record with its dataset's reference statistics and features."""
    dataset: str
    features: np.ndarray
    record: dict
    ref: Any
    ref_features: np.ndarray


def _load_cell(config: dict[str, Any], out: str, cell: Any) -> _Cell:
    from ddim_eval.metrics.features import load_feature_rows
    from ddim_eval.metrics.stats import load_stats

    path = Path(out) / cell.path
    stats = load_stats(path / "stats.npz")
    features = load_feature_rows([path / f"shard{k}" / "features.npz" for k, _ in shards(config)], stats,
                                 path / "stats.npz")
    ref_dir = Path(out) / "reference" / f"{cell.dataset}-{config['datasets'][cell.dataset]['reference_split']}"
    ref = load_stats(ref_dir / "stats.npz", stats.extractor, stats.layer)
    ref_features = load_feature_rows([ref_dir / "features.npz"], ref, ref_dir / "stats.npz")
    return _Cell(cell.dataset, features, load_json(path / "metrics.json"), ref, ref_features)


class _Study:
    """The study cell's samples and features, the reference, and the extractor, loaded once."""

    def __init__(self, config: dict[str, Any], out: str, device: torch.device | str, batch_size: int,
                 weights_path: str | None, raw_files: Sequence[str]) -> None:
        from ddim_eval.metrics.extractors import load_extractor

        self.config, self.out, self.device, self.batch_size = config, out, device, batch_size
        self.raw_files = list(raw_files)
        study, self.cells = config["protocol_study"], protocol_cells(config)
        self.cell = _load_cell(config, out, self.cells["paper"])
        self.features, self.ref, self.ref_features = self.cell.features, self.cell.ref, self.cell.ref_features
        kept = [Path(out) / self.cells["paper"].path / f"shard{k}" / "samples.npz" for k, _ in shards(config)]
        keys = ("images", "floats") if study.get("float_samples") else ("images",)
        parts = [load_npz(p, ("images",), "kept samples", optional=keys[1:]) if p.is_file() else {} for p in kept]
        missing = [str(p) for p, part in zip(kept, parts) if not set(keys) <= set(part)]
        if missing:
            raise ValueError(f"the protocol study needs the study cell's kept samples ({' and '.join(keys)}); "
                             f"missing in {missing} (sampled before the study asked for them: delete the cell's "
                             "folder and rerun)")
        self.samples = np.concatenate([part["images"] for part in parts])
        self.floats = np.concatenate([part["floats"] for part in parts]) if "floats" in keys else None
        self.ref_images_path = data_path(config, study["dataset"], config["datasets"][study["dataset"]]
                                         ["reference_split"])
        e = config["extractor"]
        self.extractor = load_extractor(e["name"], e.get("layer"), weights_path, device)
        i = config["intervals"]
        self.level, self.n_boot, self.seed = i["level"], i["n_boot"], i["seed"]
        self._counts: dict[int, np.ndarray] = {}

    def checked_paper(self, cell: _Cell) -> Replicated:
        """The cell's FID under the paper's protocol, its replicates checked against its metrics.json's (the
        deviations are paired with them only if both come from the same resamples of the same features)."""
        paper = self.fid(cell.features, cell.ref)
        if not np.allclose(paper.replicates, cell.record["replicates"]["fid"], rtol=1e-6, atol=1e-9):
            raise ValueError(f"{self.out}: the {cell.dataset} cell's metrics.json's FID replicates differ from the "
                             "ones its features give; the cell's files are from different runs (delete the cell, "
                             "rerun)")
        return paper

    def features_of(self, images: np.ndarray, extractor: Any = None) -> np.ndarray:
        from ddim_eval.metrics.features import batches, extract

        return extract(extractor or self.extractor, batches(images, self.batch_size), total=len(images),
                       progress=False)[0]

    def fid(self, features: np.ndarray, ref: Any, counts: np.ndarray | None = None) -> Replicated:
        """FID with replicates under `counts`, by default the resamples every cell of n samples has (its
        metrics.json's), drawn once per n."""
        from ddim_eval.metrics.protocol import fid_resampled

        if counts is None:
            n = len(features)
            counts = self._counts.get(n)
            if counts is None:
                counts = self._counts[n] = resample_counts(n, self.n_boot, self.seed)
        return fid_resampled(features, ref, counts, self.seed, device=self.device)


def _reference_rows(s: _Study, paper: Replicated) -> list[dict]:
    from ddim_eval.data.arrays import load_images
    from ddim_eval.metrics.protocol import reference_subset
    from ddim_eval.metrics.stats import from_features

    study, rows = s.config["protocol_study"], []
    other = study.get("reference_split")
    if other:
        images = load_images(data_path(s.config, study["dataset"], other))
        ref = from_features(s.features_of(images), s.ref.extractor, s.ref.layer)
        rows.append(_row("reference", f"{other} split ({ref.n} images) instead of the {s.ref.n}",
                         s.fid(s.features, ref), paper, s.level, n_ref=ref.n))
    for size in study.get("reference_sizes", []):
        ref = reference_subset(s.ref_features, size, s.seed, s.ref.extractor, s.ref.layer)
        rows.append(_row("reference", f"{size} random reference images of the {s.ref.n}", s.fid(s.features, ref),
                         paper, s.level, n_ref=size))
    return rows


def _count_rows(s: _Study, paper: Replicated) -> list[dict]:
    """FID of the first k samples against all n, paired by a stratified resample; FID_inf of each beside it."""
    from ddim_eval.metrics.protocol import nested_counts

    n, rows = len(s.features), []
    for k in s.config["protocol_study"].get("sample_counts", []):
        counts = nested_counts(n, k, s.n_boot, s.seed)
        whole = s.fid(s.features, s.ref, counts)
        # Paired with the whole set through the stratified resamples, whatever its own n.
        subset = dataclasses.replace(s.fid(s.features[:k], s.ref, counts[:, :k]), n=n)
        rows.append(_row("sample count", f"the first {k} samples instead of all {n}", subset, whole, s.level,
                         n=k, **_fid_inf(s, s.features[:k])))
    return rows


def _fid_inf(s: _Study, features: np.ndarray) -> dict[str, float]:
    """FID_inf of these samples with its interval, where the study has sample counts (else {})."""
    from ddim_eval.metrics.fid_infinity import fid_infinity

    if not s.config["protocol_study"].get("sample_counts"):
        return {}
    inf, _ = fid_infinity(features, s.ref, n_boot=s.n_boot, seed=s.seed, device=s.device)
    low, high = inf.interval(s.level)
    return {"fid_inf": inf.value, "fid_inf_ci_low": low, "fid_inf_ci_high": high}


def _storage_rows(s: _Study, paper: Replicated) -> list[dict]:
    """The samples stored as JPEG, and kept as floats (not rounded to uint8), read by the same extractor."""
    from ddim_eval.metrics.protocol import jpeg_roundtrip

    rows = [_row("storage", f"JPEG at quality {q} instead of PNG (lossless)",
                 s.fid(s.features_of(jpeg_roundtrip(s.samples, q)), s.ref), paper, s.level)
            for q in s.config["protocol_study"].get("jpeg_qualities", [])]
    if s.floats is not None:
        rows.append(_row("storage", "float32 pixels, not rounded, instead of uint8 (PNG)",
                         s.fid(s.features_of(s.floats), s.ref), paper, s.level))
    return rows


def _extractor_rows(s: _Study, paper: Replicated) -> list[dict]:
    """Samples and reference both read by another extractor (or layer): FID in its own feature space."""
    from ddim_eval.data.arrays import load_images
    from ddim_eval.metrics.extractors import load_extractor
    from ddim_eval.metrics.stats import from_features

    rows = []
    for e in s.config["protocol_study"].get("extractors", []):
        other = load_extractor(e["name"], e.get("layer"), e.get("weights_path"), s.device)
        ref = from_features(s.features_of(load_images(s.ref_images_path), other), other.name, other.layer)
        weights = f", weights {e['weights_path']}" if e.get("weights_path") else ""
        rows.append(_row("extractor", f"{other.name} layer {other.layer}{weights} instead of {s.ref.extractor} "
                         f"layer {s.ref.layer}", s.fid(s.features_of(s.samples, other), ref), paper, s.level,
                         extractor=other.name))
    return rows


def _cell_rows(s: _Study) -> list[dict]:
    """The other spacing's and the other weights' cells, paired with the study cell as the tables' cells are."""
    study, out = s.config["protocol_study"], s.out
    paper = replicated(s.cell.record)
    paper_cell, other = s.cells["paper"], s.config["datasets"].get(study.get("checkpoint"), {})
    words = {"spacing": ("tau spacing", f"{study.get('spacing')} instead of {paper_cell.spacing}"),
             "checkpoint": ("checkpoint", f"model {other.get('model')} (dataset {study.get('checkpoint')}) instead "
                                          f"of {s.config['datasets'][paper_cell.dataset]['model']}")}
    return [_row(*words[role], replicated(load_json(Path(out) / cell.path / "metrics.json")), paper, s.level)
            for role, cell in s.cells.items() if role in words]


def _preparation_rows(s: _Study, paper: Replicated) -> list[dict]:
    """The resize dataset's reference prepared anew from its downloaded images with each other resize filter and
    each other CelebA crop, against its cell's samples (the study's cell, or that dataset's cell at the same S: then
    its paper's-protocol row first)."""
    from ddim_eval.data import celeba
    from ddim_eval.data.resize import PAPER_FILTER
    from ddim_eval.metrics.features import extract, image_batches
    from ddim_eval.metrics.stats import from_features

    preparations = reference_preparations(s.config)
    if not preparations:
        return []
    cell, rows = s.cell, []
    if "resize" in s.cells:
        cell = _load_cell(s.config, s.out, s.cells["resize"])
        paper = s.checked_paper(cell)
        rows.append(_row(PAPER, f"{cell.dataset}'s cell: all {len(cell.features)} samples as uint8, {cell.ref.n} "
                         "reference images", paper, paper, s.level, dataset=cell.dataset, n=len(cell.features),
                         n_ref=cell.ref.n))
    paper_crop = "the paper's {2}x{2} box at top {0}, left {1}".format(*celeba.CROPS[celeba.PAPER_CROP])
    words = {"resize": "reference resized by {} instead of " + f"{PAPER_FILTER} (antialiased)",
             "crop": "reference cropped to the {} square instead of " + paper_crop}
    for deviation, name in preparations:
        print(f"protocol study: the reference prepared with {deviation} {name}", file=sys.stderr)
        with _raw_reference(s, cell.dataset, **{PREPARED_BY[deviation]: name}) as (images, n):
            features = extract(s.extractor, image_batches(images, s.batch_size), total=n, progress=False)[0]
        ref = from_features(features, cell.ref.extractor, cell.ref.layer)
        rows.append(_row(deviation, words[deviation].format(name), s.fid(cell.features, ref), paper,
                         s.level, dataset=cell.dataset, n=len(cell.features), n_ref=ref.n))
    return rows


@contextlib.contextmanager
def _raw_reference(s: _Study, dataset: str, **preparation: str) -> Iterator[tuple[Iterator[np.ndarray], int]]:
    """The dataset's reference split prepared anew from its downloaded files with `preparation` (resize_filter, and
    for CelebA crop), one image at a time (its image limit as the prepared split's)."""
    from ddim_eval.data import celeba, lsun

    entry = s.config["datasets"][dataset]
    limit = max_images(s.config, entry["source"])
    if entry["source"] == "celeba":
        archive, partition = s.raw_files
        yield celeba.images(archive, partition, entry["reference_split"], max_images=limit, verify=False,
                            **preparation)
    else:
        with lsun.images(Path(s.raw_files[0]).parent, max_images=limit, **preparation) as stream:
            yield stream


def protocol_study(config: dict[str, Any], out: str, *, device: torch.device | str = "cpu", batch_size: int = 256,
                   weights_path: str | None = None, raw_files: Sequence[str] = ()) -> dict[str, Any]:
    """The study's record: one row per deviation (FID with its interval; its shift from the paper's protocol with
    the paired interval), the first row the paper's protocol itself, and what was measured how. `raw_files`: the
    downloaded files the resize dataset's reference is prepared from (its download rule's outputs), where the study
    has resize filters or crops."""
    s = _Study(config, out, device, batch_size, weights_path, raw_files)
    paper = s.checked_paper(s.cell)
    rows = [_row(PAPER, f"all {len(s.features)} samples as uint8, {s.ref.n} reference images", paper, paper,
                 s.level, n=len(s.features), **_fid_inf(s, s.features))]
    for part in (_reference_rows, _count_rows, _storage_rows, _extractor_rows):
        print(f"protocol study: {part.__name__.strip('_').replace('_', ' ')}", file=sys.stderr)
        rows += part(s, paper)
    rows += _cell_rows(s) + _preparation_rows(s, paper)
    study = config["protocol_study"]
    defaults = {"dataset": study["dataset"], "n": len(s.features), "n_ref": s.ref.n, "extractor": s.ref.extractor}
    return {"dataset": study["dataset"], "steps": study["steps"], "cell": s.cells["paper"].path,
            "ci_level": s.level, "n_boot": s.n_boot, "bootstrap_seed": s.seed,
            "rows": [defaults | row for row in rows]}
