"""The protocol study's resize and crop rows on a run made here: a CelebA-sourced dataset whose reference is
prepared anew, with other filters and crops, from a small archive in CelebA's layout, against a cell's features
(torch-fidelity's Inception with random weights, its 64-channel layer: the plumbing of the real one at a fraction of
the cost), each paired with the cell's FID. The demo's digits are neither resized nor cropped, so the workflow tests
cannot reach these rows."""

import io
import shutil
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from ddim_eval.data import celeba
from ddim_eval.experiment.protocol_study import protocol_study
from ddim_eval.io import save_json, save_npz
from ddim_eval.metrics.distances import fid
from ddim_eval.metrics.extractors import INCEPTION, load_extractor, save_random_inception
from ddim_eval.metrics.features import save_feature_set, save_reference_set
from ddim_eval.metrics.scores import IntervalOptions, score_cell
from ddim_eval.metrics.stats import from_features, load_stats, save_stats

N_REF, N_SAMPLES = 30, 24
INTERVALS = {"level": 0.95, "n_boot": 20, "seed": 0}


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """A CelebA-layout archive of textured aligned-size images (N_REF train, N_SAMPLES test), and the extractor."""
    root = tmp_path_factory.mktemp("faces")
    rng = np.random.default_rng(0)
    archive, partition = root / "img_align_celeba.zip", root / "list_eval_partition.txt"
    splits = [0] * N_REF + [2] * N_SAMPLES
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(len(splits)):
            # Smooth noise with fine detail on top, which the filters treat differently.
            coarse = rng.integers(0, 256, (28, 23, 3)).repeat(8, 0).repeat(8, 1)[:218, :178]
            pixels = np.clip(coarse + rng.normal(0, 25, coarse.shape), 0, 255).astype(np.uint8)
            buffer = io.BytesIO()
            Image.fromarray(pixels).save(buffer, "PNG")
            z.writestr(f"img_align_celeba/{i:06d}.jpg", buffer.getvalue())
    partition.write_text("".join(f"{i:06d}.jpg {s}\n" for i, s in enumerate(splits)))
    weights = save_random_inception(root / "inception.pth")
    return archive, partition, weights, load_extractor(INCEPTION, "64", weights)


def _make_run(out, dataset, archive, partition, extractor):
    """Dataset `dataset`'s reference set and its DDIM eta = 0, S = 10 cell as the workflow writes them; the cell's
    "samples" are the test split's images."""
    train = celeba.prepare(archive, partition, out / "train.npy", "train", max_images=N_REF, verify=False)
    save_reference_set(out / f"reference/{dataset}-train", extractor, np.load(train), batch_size=16)
    samples = np.load(celeba.prepare(archive, partition, out / "test.npy", "test", verify=False))
    features = extractor(torch.from_numpy(samples)).numpy()
    stats = from_features(features, extractor.name, extractor.layer)
    cell = out / f"cells/{dataset}/linear/NFE10/ddim"
    save_feature_set(cell / "shard0", features, stats)
    save_npz(cell / "shard0/samples.npz", images=samples)
    save_stats(cell / "stats.npz", stats)
    ref = load_stats(out / f"reference/{dataset}-train/stats.npz")
    save_json(cell / "metrics.json", score_cell(stats, ref, features, intervals=IntervalOptions(**INTERVALS)))
    return stats


@pytest.mark.parametrize("resize_dataset", [None, "faces_too"])
def test_resize_rows_score_the_cell_against_the_reference_prepared_with_each_filter(tmp_path, faces,
                                                                                  resize_dataset):
    """The study's own dataset, or another dataset's cell at the same S (then that cell's paper's-protocol row
    comes first): each filter's FID is the FID against the reference prepared with that filter, paired."""
    archive, partition, weights, extractor = faces
    datasets = {"faces": {"model": "celeba", "source": "celeba", "reference_split": "train", "max_images": N_REF}}
    stats = _make_run(tmp_path, "faces", archive, partition, extractor)
    if resize_dataset:
        datasets[resize_dataset] = datasets["faces"]
        shutil.copytree(tmp_path / "cells/faces", tmp_path / f"cells/{resize_dataset}")
        shutil.copytree(tmp_path / "reference/faces-train", tmp_path / f"reference/{resize_dataset}-train")
    preparations = [("resize", {"resize_filter": "bicubic"}), ("resize", {"resize_filter": "bilinear-aliased"}),
                    ("crop", {"crop": "center-140"})]
    config = {"datasets": datasets, "n_samples": N_SAMPLES, "shard_size": N_SAMPLES, "intervals": INTERVALS,
              "extractor": {"name": INCEPTION, "layer": "64"},
              "protocol_study": {"dataset": "faces", "steps": 10, "resize_filters": ["bicubic", "bilinear-aliased"],
                                 "celeba_crops": ["center-140"], "resize_dataset": resize_dataset}}
    study = protocol_study(config, str(tmp_path), weights_path=str(weights), raw_files=[archive, partition])

    rows = study["rows"]
    expected = ["paper's protocol"] * (2 if resize_dataset else 1) + [d for d, _ in preparations]
    assert [r["deviation"] for r in rows] == expected
    assert [r["dataset"] for r in rows] == ["faces"] + [resize_dataset or "faces"] * (len(rows) - 1)
    paper = rows[-4]
    for (_, option), row in zip(preparations, rows[-3:]):
        with zipfile.ZipFile(archive) as z:
            names = celeba.split_files(partition, "train")[:N_REF]
            prepared = np.stack([celeba.preprocess(Image.open(io.BytesIO(z.read(f"img_align_celeba/{n}"))), **option)
                                 for n in names])
        ref = from_features(extractor(torch.from_numpy(prepared)).numpy(), extractor.name, extractor.layer)
        assert row["fid"] == pytest.approx(fid(stats, ref), rel=1e-6) and row["n_ref"] == N_REF
        assert row["fid"] != pytest.approx(paper["fid"], rel=1e-6)  # the preparation moved it
        assert row["shift"] == pytest.approx(row["fid"] - paper["fid"])
        assert row["shift_ci_low"] <= row["shift"] <= row["shift_ci_high"]
        assert [*option.values()][0] in row["setting"]
    assert "instead of bilinear" in rows[-3]["setting"] and "instead of the paper's 128x128 box" in rows[-1]["setting"]
