"""A user's sample set scored under the paper's protocol: its features by the run's extractor, against the
reference statistics of a dataset of a workflow config (computed from the prepared split where missing, where the
workflow keeps them) or against a statistics file, with the intervals and metrics the config asks for."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ddim_eval.data.sample_sets import SampleSet, image_words
from ddim_eval.experiment.cells import data_path, run_dir
from ddim_eval.metrics.stats import INCEPTION, FeatureStats


@dataclass(frozen=True)
class Reference:
    stats: FeatureStats
    features: np.ndarray | None  # for KID and precision / recall
    image_shape: tuple[int, int, int] | None  # (C, H, W) of its images, where known
    described: str  # in words, for the protocol


def file_reference(stats_path: str | Path) -> Reference:
    """A statistics file (`stats.npz`), with the features beside it where they are (`features.npz`, as the workflow
    writes them). The samples' size is checked against the image size the file records (a reference split's
    statistics by `ddim-eval reference-stats` do; others record none)."""
    from ddim_eval.metrics.features import load_feature_rows
    from ddim_eval.metrics.stats import load_stats

    stats_path = Path(stats_path)
    stats = load_stats(stats_path)
    beside = stats_path.parent / "features.npz"
    features = load_feature_rows([beside], stats, stats_path) if beside.is_file() else None
    return Reference(stats, features, stats.image_shape, f"the statistics file {stats_path} ({stats.n} images)")


def dataset_reference(config: dict[str, Any], config_path: str, dataset: str, *, device: torch.device | str,
                      batch_size: int) -> Reference:
    """The reference of `dataset` in `config`: its reference split's statistics and features under the run's
    results/<run>/reference/ (the workflow's files), computed from the prepared split when missing."""
    from ddim_eval.data.arrays import load_images
    from ddim_eval.metrics.extractors import load_extractor
    from ddim_eval.metrics.features import load_feature_rows, save_reference_set
    from ddim_eval.metrics.stats import load_stats

    if dataset not in config["datasets"]:
        raise ValueError(f"--reference {dataset!r} is neither a statistics file nor a dataset of {config_path} "
                         f"(datasets: {sorted(config['datasets'])})")
    split = config["datasets"][dataset]["reference_split"]
    split_path = Path(data_path(config, dataset, split))
    folder = Path(run_dir(config)) / "reference" / f"{dataset}-{split}"
    e = config["extractor"]
    images = load_images(split_path) if split_path.is_file() else None  # memory-mapped
    if not ((folder / "stats.npz").is_file() and (folder / "features.npz").is_file()):
        if images is None:
            raise ValueError(f"the reference of {dataset!r} needs its prepared {split} split {split_path}, which does "
                             f"not exist: prepare it with `snakemake -c all {split_path}` (or the workflow's run)")
        print(f"{folder}: the {split} split's statistics are missing; computing them from {split_path}",
              file=sys.stderr)
        save_reference_set(folder, load_extractor(e["name"], e.get("layer"), e.get("weights_path"), device), images,
                           batch_size)
    stats = load_stats(folder / "stats.npz", e["name"], e.get("layer"))
    features = load_feature_rows([folder / "features.npz"], stats, folder / "stats.npz")
    shape = None if images is None else tuple(images.shape[1:])
    return Reference(stats, features, shape, f"{dataset} {split} split ({stats.n} images) of {config_path}, "
                     f"statistics {folder / 'stats.npz'}")


def check_matches(samples: SampleSet, reference: Reference) -> None:
    """ValueError naming the sample set where its images differ in colour mode or size from the reference's."""
    ref = reference.image_shape
    if ref is None or tuple(samples.shape) == ref:
        return
    if samples.shape[0] != ref[0]:
        raise ValueError(f"{samples.path}: {image_words(samples.shape)} samples against a reference of "
                         f"{image_words(ref)} images ({reference.described}): score samples of the reference's "
                         "colour mode")
    raise ValueError(f"{samples.path}: samples of {image_words(samples.shape)} against a reference of "
                     f"{image_words(ref)} images ({reference.described}): FID compares images of one size "
                     "(resize them as the reference was prepared, or prepare a reference of their size)")


def score_samples(samples: SampleSet, reference: Reference, *, extractor_weights: str | None,
                  options: dict[str, Any], device: torch.device | str, batch_size: int) -> dict[str, Any]:
    """The sample set's metrics record (`score_cell`'s, with `options`: intervals, kid_subsets, kid_subset_size,
    fid_infinity, precision_recall) and the protocol it was measured under."""
    from ddim_eval.metrics.extractors import load_extractor
    from ddim_eval.metrics.features import extract
    from ddim_eval.metrics.scores import IntervalOptions, score_cell

    check_matches(samples, reference)
    if samples.n < 2:
        raise ValueError(f"{samples.path}: {samples.n} image; FID needs at least 2 (a covariance)")
    ref = reference.stats
    if options["precision_recall"] and reference.features is None:
        raise ValueError(f"precision and recall need the reference's features, and {reference.described} has no "
                         "features.npz beside it")
    extractor = load_extractor(ref.extractor, ref.layer, extractor_weights, device)
    features, stats = extract(extractor, (torch.from_numpy(b) for b in samples.batches(batch_size)), total=samples.n)
    intervals = IntervalOptions(**options["intervals"])
    record = score_cell(stats, ref, features, ref_features=reference.features, intervals=intervals,
                        kid_subsets=options["kid_subsets"] if reference.features is not None else 0,
                        with_fid_infinity=options["fid_infinity"], with_precision_recall=options["precision_recall"],
                        device=device, progress=True)
    extractor_words = ("torch-fidelity's TF-compatible Inception (the paper's FID)" if ref.extractor == INCEPTION
                       else f"{ref.extractor} (not Inception: its FID is not comparable with published ones)")
    protocol = {"samples": f"{samples.path}: {samples.found}", "reference": reference.described,
                "extractor": f"{extractor_words}, layer {ref.layer}",
                "intervals": f"{intervals.level:.0%} {record['ci_method']} intervals, {intervals.n_boot} resamples of "
                             f"the samples (seed {intervals.seed}); the reference is held fixed"}
    return {"samples": str(samples.path), "image_shape": list(samples.shape)} | record | {"protocol": protocol}
