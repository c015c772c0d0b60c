"""`ddim-eval score`: every layout a user may bring reads to the same pixels and so the same FID; the FID of a
shard's kept samples is the FID of the workflow's cell (sample -> merge-stats -> fid); a dataset's reference is
computed where the workflow keeps it; each bad input is one line naming the file."""

import json
import re
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from ddim_eval.cli import main

from helpers import ROOT

CONFIG = str(ROOT / "config/config.yaml")  # the demo world: digits, 8x8 grayscale, the digits CNN


@pytest.fixture
def workdir(tmp_path, monkeypatch, digits_images):
    """A working directory with the demo's prepared splits, where the workflow would have put them."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "resources/digits").mkdir(parents=True)
    for split, images in zip(("train", "test"), digits_images):
        np.save(tmp_path / f"resources/digits/{split}.npy", images)
    return tmp_path


def _score(*args: str) -> dict:
    main(["score", *args, "--out", "score.json", "--n-boot", "20"])
    return json.loads(open("score.json").read())


def _layouts(folder, images: np.ndarray) -> list[str]:
    """The same uint8 NCHW images saved every way `score` reads them."""
    nhwc = images.transpose(0, 2, 3, 1)
    (folder / "pngs").mkdir()
    for i, image in enumerate(nhwc[..., 0]):
        Image.fromarray(image).save(folder / f"pngs/{i:05d}.png")
    np.savez(folder / "adm.npz", nhwc)
    np.savez_compressed(folder / "adm_compressed.npz", nhwc)
    np.savez(folder / "shard_samples.npz", images=images)
    np.save(folder / "nchw.npy", images)
    np.save(folder / "unit.npy", nhwc.astype(np.float32) / 255)
    np.save(folder / "signed.npy", images.astype(np.float64) / 127.5 - 1)
    return ["pngs", "adm.npz", "adm_compressed.npz", "shard_samples.npz", "nchw.npy", "unit.npy", "signed.npy"]


def test_every_layout_gives_the_same_fid_against_a_dataset_computed_where_the_workflow_keeps_it(workdir,
                                                                                                   digits_images,
                                                                                                   capsys):
    layouts = _layouts(workdir, digits_images[1][:200])
    records = [_score(layout, "--reference", "digits", "--config", CONFIG) for layout in layouts]
    out = capsys.readouterr()
    assert (workdir / "results/demo/reference/digits-train/stats.npz").is_file()
    assert out.err.count("statistics are missing; computing them") == 1  # then reused
    assert {r["fid"] for r in records} == {records[0]["fid"]} and records[0]["fid"] > 0
    assert all(r["n"] == 200 and r["n_ref"] == len(digits_images[0]) and r["image_shape"] == [1, 8, 8]
               for r in records)
    assert "a folder of 200 PNG images, 8x8 grayscale" in records[0]["protocol"]["samples"]
    assert "NHWC float32 in [0, 1]" in records[5]["protocol"]["samples"]
    assert "NCHW float64 in [-1, 1]" in records[6]["protocol"]["samples"]
    lines = [line for line in out.out.splitlines() if line.startswith("**")]
    assert len(lines) == len(layouts) and "FID " in lines[0] and "against digits train split (1437 images)" in lines[0]


def test_a_shards_kept_samples_score_the_fid_of_its_cell(workdir, capsys):
    # The workflow's cell, command by command: two shards, their statistics merged, FID with the interval.
    cell = workdir / "cell"
    for shard in (0, 1):
        main(["sample", "digits", str(cell / f"shard{shard}"), "--nfe", "5", "--n", "30", "--shard", str(shard),
              "--keep-samples", "--batch-size", "50", "--device", "cpu"])
    main(["reference-stats", "resources/digits/train.npy", "ref", "--extractor", "digits-cnn"])
    capsys.readouterr()
    main(["merge-stats", str(cell / "shard0/stats.npz"), str(cell / "shard1/stats.npz"), str(cell / "stats.npz")])
    main(["fid", str(cell / "stats.npz"), "ref/stats.npz", "--features", str(cell / "shard0/features.npz"),
          str(cell / "shard1/features.npz"), "--ref-features", "ref/features.npz", "--n-boot", "20",
          "--out", str(cell / "metrics.json")])
    metrics = json.loads((cell / "metrics.json").read_text())
    kept = [np.load(cell / f"shard{shard}/samples.npz")["images"] for shard in (0, 1)]
    np.save("kept.npy", np.concatenate(kept))
    record = _score("kept.npy", "--reference", "ref/stats.npz")
    for metric in ("fid", "fid_ci_low", "fid_ci_high", "kid_all_pairs"):
        assert record[metric] == pytest.approx(metrics[metric], rel=1e-9, abs=1e-9), metric
    assert record["n"] == metrics["n"] == 60


def _refused(capsys, *args: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(["score", *args, "--out", "score.json"])
    message = str(exit_.value.code)
    assert message.startswith("ddim-eval score: error: ") and "\n" not in message, message
    assert not (capsys.readouterr().out or "").strip()  # nothing scored
    return message


def test_each_bad_sample_set_is_one_line_naming_the_file(workdir, digits_images, capsys):
    gray = digits_images[1][:10, 0]  # [N, 8, 8]
    (workdir / "mixed").mkdir()
    Image.fromarray(gray[0]).save(workdir / "mixed/a.png")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(workdir / "mixed/b.png")
    (workdir / "rgb").mkdir()
    for i in range(3):
        Image.fromarray(np.stack([gray[i]] * 3, -1)).save(workdir / f"rgb/{i}.png")
    (workdir / "large").mkdir()
    for i in range(3):
        Image.fromarray(np.zeros((16, 16), np.uint8) + i).save(workdir / f"large/{i}.png")
    (workdir / "empty").mkdir()
    (workdir / "broken").mkdir()
    Image.fromarray(gray[0]).save(workdir / "broken/a.png")
    (workdir / "broken/b.png").write_bytes(b"not an image")
    np.save(workdir / "square.npy", np.zeros((4, 3, 5, 3), np.uint8))
    np.save(workdir / "wide.npy", np.full((4, 8, 8, 1), 2.5, np.float32))
    np.savez(workdir / "other.npz", samples=np.zeros((4, 8, 8, 1), np.uint8))
    reference = ["--reference", "digits", "--config", CONFIG]
    cases = {
        "mixed": r"mixed/b.png is 16x16 grayscale but .*mixed/a.png is 8x8 grayscale: every image of a sample set",
        "rgb": r"rgb: 8x8 RGB samples against a reference of 8x8 grayscale images \(digits train split",
        "large": r"large: samples of 16x16 grayscale against a reference of 8x8 grayscale images",
        "empty": r"empty: the folder holds no PNG or JPEG images",
        "broken": r"broken/b.png is not a readable image",
        "square.npy": r"square.npy: shape \(4, 3, 5, 3\) reads as NCHW and as NHWC",
        "wide.npy": r"wide.npy: float values span \[2.5, 2.5\]; ddim-eval reads float samples in \[0, 1\] or \[-1, 1\]",
        "other.npz": r"other.npz holds \['samples'\], none of \['arr_0', 'images'\]",
        "missing": r"missing does not exist; give a folder of PNG or JPEG images",
    }
    for samples, message in cases.items():
        got = _refused(capsys, samples, *reference)
        assert re.search(message, got), (samples, got)
    # The statistics file `ddim-eval reference-stats` writes records its images' size (the workflow's `external`
    # sets are scored against it): samples of another size are refused there too.
    main(["reference-stats", "resources/digits/train.npy", "ref", "--extractor", "digits-cnn"])
    capsys.readouterr()
    assert re.search(r"large: samples of 16x16 grayscale against a reference of 8x8 grayscale images \(the "
                     r"statistics file ref/stats.npz", _refused(capsys, "large", "--reference", "ref/stats.npz"))
    assert not (workdir / "score.json").exists()


def test_a_reference_that_cannot_be_found_is_named(workdir, digits_images, capsys):
    np.save(workdir / "some.npy", digits_images[1][:10])
    assert "'cifar10' is neither a statistics file nor a dataset of" in _refused(
        capsys, "some.npy", "--reference", "cifar10", "--config", CONFIG)
    assert "the config nowhere.yaml does not exist; give --config" in _refused(
        capsys, "some.npy", "--reference", "digits", "--config", "nowhere.yaml")
    shutil.rmtree(workdir / "resources")
    assert "needs its prepared train split resources/digits/train.npy, which does not exist" in _refused(
        capsys, "some.npy", "--reference", "digits", "--config", CONFIG)


def test_float_samples_become_the_pixels_a_shard_would_have_written(tmp_path):
    from ddim_eval.data.images import to_uint8
    from ddim_eval.data.sample_sets import open_sample_set

    x = torch.rand(64, 3, 8, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 2 - 1
    np.save(tmp_path / "signed.npy", x.numpy())
    np.save(tmp_path / "unit.npy", ((x.numpy() + 1) / 2).transpose(0, 2, 3, 1))
    expected = to_uint8(x).numpy()  # what `sample` writes and extracts features from
    for name in ("signed.npy", "unit.npy"):
        got = np.concatenate(list(open_sample_set(tmp_path / name).batches(10)))
        assert np.array_equal(got, expected), name
