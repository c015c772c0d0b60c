"""The Snakemake workflow: a reduced demo grid end to end, a no-op rerun, resuming, and config errors.

Every run here sees only what `pip install -e .` installs (helpers.main_install_env): the test extra cannot hide
a missing dependency of the workflow or its report."""

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import yaml
from PIL import Image

from grid_runs import CHECKOUT, SMALL, SNAKEMAKE, job_counts, snakemake, spaced_config
from helpers import ROOT, fake_nvidia_smi, main_install_env

DDIM_EVAL = [sys.executable, "-m", "ddim_eval.cli"]


def test_small_grid_end_to_end(small_run):
    tables = small_run / "results/small/tables"
    rows = {}
    for name in ("table1", "table2", "table3", "timing"):
        with open(tables / f"{name}.csv", newline="") as f:
            rows[name] = list(csv.DictReader(f))
        assert re.match(r"\| dataset +\| variant +\| S=5 ", (tables / f"{name}.md").read_text())  # padded columns
    # Tables 1 and 3 hold FID, then (as the small config asks) FID_inf, KID over all pairs, precision and recall;
    # Table 1 shows a sample set of "yours" (config `external`) too.
    assert [r["metric"] for r in rows["table1"]] == [m for m in ("fid", "fid_inf", "kid_all_pairs", "precision",
                                                                 "recall") for _ in range(5)]
    rows["table1"] = [r for r in rows["table1"] if r["sample_set"] == ""]
    rows["table1"], rows["table3"] = ([r for r in rows[t] if r["metric"] == "fid"] for t in ("table1", "table3"))
    assert [(r["S"], r["variant"]) for r in rows["table1"]] == [("5", "eta=0.0"), ("5", "sigma_hat"),
                                                                ("10", "eta=0.0"), ("10", "sigma_hat")]
    assert all(r["extractor"] == "digits-cnn" and r["n"] == "60" and float(r["value"]) > 0 and r["paper_value"] == ""
               for r in rows["table1"] + rows["table3"])
    # Tables are views over cells: the eta = 0 cells of Tables 1 and 3 are one computation.
    t1 = {(r["S"], r["variant"]): r["value"] for r in rows["table1"]}
    t3 = {(r["S"], r["variant"]): r["value"] for r in rows["table3"]}
    assert t1[("5", "eta=0.0")] == t3[("5", "eta=0.0")]
    assert [r["n"] for r in rows["table2"]] == ["20", "20"]
    assert float(rows["table2"][0]["value"]) > float(rows["table2"][1]["value"]) > 0
    assert rows["timing"][0]["device"].startswith("cpu") and float(rows["timing"][0]["value"]) > 0
    shards = sorted(p.parent.name for p in (small_run / "results/small/cells").rglob("shard*/stats.npz"))
    # 6 distinct paper cells, 4 of the sampler study (Heun and the user's sampler at 2 budgets; its DDIM at the
    # paper's spacing is the paper's eta = 0 cells) and 2 of the protocol study (the other spacing, the other
    # weights), 2 shards each
    assert len(shards) == 12 * 2 and set(shards) == {"shard0", "shard1"}
    html = (tables / "table1.html").read_text()
    # The paper layout of each of the 5 metrics (a header, 2 variants and the user's sample set each) and the
    # comparisons (a header and 4 paired and 1 unpaired comparisons for each of FID, FID_inf and KID).
    assert html.startswith("<!DOCTYPE html>") and html.count("<tr") == 5 * 4 + 1 + 3 * 5 and "digits-cnn" in html
    # Every FID and reconstruction error has its interval (the schema's defaults: 95%, 200 resamples).
    for r in rows["table1"] + rows["table2"]:
        assert float(r["ci_low"]) <= float(r["value"]) <= float(r["ci_high"]), r
        assert (r["ci_level"], r["n_boot"]) == ("0.95", "200")
    assert rows["timing"][0]["ci_low"] == ""  # best-of-k wall times: no interval
    with open(tables / "table1_comparisons.csv", newline="") as f:
        comparisons = [c for c in csv.DictReader(f) if c["metric"] == "fid" and c["kind"] != "external"]
    assert [(c["kind"], c["S"], c["variant"], c["vs_S"], c["vs_variant"]) for c in comparisons] == [
        ("S", "10", "eta=0.0", "5", "eta=0.0"), ("S", "10", "sigma_hat", "5", "sigma_hat"),
        ("variant", "5", "sigma_hat", "5", "eta=0.0"), ("variant", "10", "sigma_hat", "10", "eta=0.0")]
    with open(tables / "table2_comparisons.csv", newline="") as f:  # the same images at every S: paired too
        assert [(c["kind"], c["metric"], c["S"], c["vs_S"]) for c in csv.DictReader(f)] == [("S", "recon_mse", "10",
                                                                                               "5")]
    for c in comparisons:  # the paired interval is about the difference of the two cells' FIDs
        first, second = float(t1[(c["S"], c["variant"])]), float(t1[(c["vs_S"], c["vs_variant"])])
        assert float(c["difference"]) == pytest.approx(first - second)
        assert float(c["ci_low"]) <= float(c["difference"]) <= float(c["ci_high"])


def test_sampler_study_with_a_user_sampler(small_run):
    """The study's cells, table, comparisons and figure, with a user's sampler run through the whole DAG: the
    user's hand-written DDIM lands where the registered one does."""
    out = small_run / "results/small"
    with open(out / "tables/samplers.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["metric"] == "fid"]
    assert [(r["sampler"], r["nfe_budget"], r["nfe"]) for r in rows] == [
        ("ddim", "5", "5"), ("ddim", "10", "10"), ("heun", "5", "5"), ("heun", "10", "9"),
        ("by_hand", "5", "5"), ("by_hand", "10", "10")]
    assert {r["spacing"] for r in rows} == {"linear", "karras"} and rows[2]["title"] == "Heun (Karras)"
    fid = {(r["sampler"], r["nfe_budget"]): float(r["value"]) for r in rows}
    for budget in ("5", "10"):  # the same x_T, the same math: the same images up to rounding
        assert fid["by_hand", budget] == pytest.approx(fid["ddim", budget], abs=1e-2)
    with open(out / "tables/samplers_comparisons.csv", newline="") as f:
        against = {(c["sampler"], c["nfe_budget"]): c for c in csv.DictReader(f)
                   if c["metric"] == "fid" and c["kind"] == "variant" and c["vs_sampler"] == "ddim"}
    assert sorted(against) == [("by_hand", "10"), ("by_hand", "5"), ("heun", "10"), ("heun", "5")]
    assert all(c["significant"] == "False" for key, c in against.items() if key[0] == "by_hand")
    table = (out / "tables/samplers.md").read_text()
    assert re.match(r"\| dataset +\| sampler +\| NFE=5 +\| NFE=10", table) and "heun at 10 makes 9" in table
    with Image.open(out / "figures/samplers.png") as image:
        assert image.size[0] > 100
    summary = (out / "summary.md").read_text()
    assert "## Samplers: FID against NFE" in summary and "![FID against NFE](figures/samplers.png)" in summary


def test_figures_and_summary(small_run):
    out = small_run / "results/small"
    figures = ("timing", "fid", "protocol", "digits/samples", "digits/consistency", "digits/interpolation")
    for stem in (f"figures/{name}" for name in figures):
        with Image.open(out / f"{stem}.png") as image:
            assert image.size[0] > 100
        assert (out / f"{stem}.pdf").read_bytes()[:5] == b"%PDF-"
    summary = (out / "summary.md").read_text()
    for title in ("Table 1", "Table 2", "Table 3", "Figure 4"):
        assert f"## {title}" in summary
    links = re.findall(r"!\[[^]]*\]\(([^)]+)\)", summary)
    assert len(links) == 7 and all((out / link).is_file() for link in links)
    assert "### Which differences are real (Table 1)" in summary
    assert (out / "tables/table2.md").read_text().strip() in summary
    assert "The paper's Table 3 is LSUN bedroom and church; this run serves its grid with the cells of digits." in summary


def test_report_is_one_html_page_with_captions(small_run):
    report = small_run / "results/small/report.html"
    result = subprocess.run([*SNAKEMAKE, "--directory", str(small_run), "--configfile", str(small_run / "config.yaml"),
                             "--report", str(report)], capture_output=True, text=True, env=main_install_env())
    assert result.returncode == 0, result.stderr[-3000:]
    page = report.read_text()
    assert page.count("data:image/png;") >= 4  # the figures are embedded, not linked
    for caption in ("Figure 4: hours to sample 50,000 images", "Figure 6 style interpolation",
                    "Table 2: DDIM reconstruction error"):
        assert caption in page


def test_the_install_guard_would_catch_a_missing_report_dependency(small_run, tmp_path):
    """Without pygments (as `pip install -e .` was before it was declared), the report fails: the guard above is
    what makes the report test prove the main install suffices."""
    result = subprocess.run([*SNAKEMAKE, "--directory", str(small_run), "--configfile", str(small_run / "config.yaml"),
                             "--report", str(tmp_path / "report.html")], capture_output=True, text=True,
                            env=main_install_env(also_absent=("pygments",)))
    assert result.returncode != 0 and "pygments" in result.stdout + result.stderr


def test_a_cells_kept_samples_score_the_cells_own_metrics(small_run, tmp_path):
    """`ddim-eval score` on the samples a cell kept (its shards' samples.npz, in shard order) against the run's
    dataset gives the cell's metrics.json: FID, FID_inf and KID with the same intervals, precision and recall."""
    cell = small_run / "results/small/cells/digits/linear/NFE10/ddim"
    kept = np.concatenate([np.load(cell / f"shard{k}/samples.npz")["images"] for k in (0, 1)])
    np.save(tmp_path / "kept.npy", kept)
    scored = subprocess.run([*DDIM_EVAL, "score", str(tmp_path / "kept.npy"), "--reference", "digits", "--config",
                             str(small_run / "config.yaml"), "--out", str(tmp_path / "score.json")],
                            cwd=small_run, capture_output=True, text=True, env=main_install_env())
    assert scored.returncode == 0, scored.stderr[-3000:]
    assert "computing" not in scored.stderr  # the workflow's reference statistics, found where it keeps them
    record, metrics = (json.loads(p.read_text()) for p in (tmp_path / "score.json", cell / "metrics.json"))
    for metric in ("fid", "fid_ci_low", "fid_ci_high", "fid_inf", "fid_inf_ci_low", "fid_inf_ci_high",
                   "kid_all_pairs", "kid_all_pairs_ci_low", "kid_all_pairs_ci_high", "precision", "recall"):
        assert record[metric] == pytest.approx(metrics[metric], rel=1e-9, abs=1e-12), metric
    assert record["n"] == metrics["n"] == 60 and scored.stdout.startswith(f"**{tmp_path / 'kept.npy'}**: FID ")


def test_a_sample_set_of_yours_is_a_row_beside_ours(small_run, tmp_path):
    """The small config's `external` set (the real test split scored as samples) is a row of Table 1 with the
    metrics `ddim-eval score` gives it, compared with our cell unpaired only (the sampler study's rows:
    tests/report/test_sampler_study.py)."""
    tables = small_run / "results/small/tables"
    scored = subprocess.run([*DDIM_EVAL, "score", "resources/digits/test.npy", "--reference", "digits", "--config",
                             str(small_run / "config.yaml"), "--out", str(tmp_path / "score.json")],
                            cwd=small_run, capture_output=True, text=True, env=main_install_env())
    assert scored.returncode == 0, scored.stderr[-3000:]
    score = json.loads((tmp_path / "score.json").read_text())
    with open(tables / "table1.csv", newline="") as f:
        row = next(r for r in csv.DictReader(f) if r["variant"] == "test-split" and r["metric"] == "fid")
    assert float(row["value"]) == pytest.approx(score["fid"], rel=1e-9) and row["n"] == "360" and row["S"] == "10"
    assert row["sample_set"] == "resources/digits/test.npy"
    with open(tables / "table1_comparisons.csv", newline="") as f:
        compared = [c for c in csv.DictReader(f) if c["kind"] == "external" and c["metric"] == "fid"]
    assert len(compared) == 1 and compared[0]["ci_low"] == "" and compared[0]["unpaired_ci_low"] != ""
    assert "test-split" in (tables / "table1.md").read_text() and "(unpaired only)" in (tables / "table1.md").read_text()
    # Real images are far closer to the reference than 60 samples of 10 steps: the row says so.
    assert float(row["value"]) < 20


def test_the_protocol_study_measures_each_deviation_paired(small_run):
    """One row per deviation the small config plans, each FID with its interval and its shift with a paired
    interval; the spacing and weights rows are those cells' own FIDs."""
    out = small_run / "results/small"
    study = json.loads((out / "protocol/study.json").read_text())
    rows = {r["deviation"] + ": " + r["setting"]: r for r in study["rows"]}
    assert [r["deviation"] for r in study["rows"]] == ["paper's protocol", "reference", "reference", "sample count",
                                                      "storage", "storage", "extractor", "tau spacing", "checkpoint"]
    paper = study["rows"][0]
    assert paper["fid"] == pytest.approx(json.loads((out / "cells/digits/linear/NFE10/ddim/metrics.json")
                                                    .read_text())["fid"], rel=1e-9)
    for r in study["rows"][1:]:
        assert r["fid_ci_low"] <= r["fid"] <= r["fid_ci_high"] and r["shift_ci_low"] <= r["shift"] <= r[
            "shift_ci_high"]
        if r["deviation"] != "sample count":
            assert r["shift"] == pytest.approx(r["fid"] - paper["fid"])
    for role, folder in (("tau spacing", "digits/quadratic"), ("checkpoint", "digits_no_ema/linear")):
        cell = json.loads((out / f"cells/{folder}/NFE10/ddim/metrics.json").read_text())
        assert next(r for r in study["rows"] if r["deviation"] == role)["fid"] == pytest.approx(cell["fid"])
    # The unrounded floats: rounding moves every pixel by under half a level, so FID by far less than JPEG does.
    floats = rows["storage: float32 pixels, not rounded, instead of uint8 (PNG)"]
    assert 0 < abs(floats["shift"]) < abs(rows["storage: JPEG at quality 75 instead of PNG (lossless)"]["shift"])
    with np.load(out / "cells/digits/linear/NFE10/ddim/shard0/samples.npz") as kept:
        assert sorted(kept.files) == ["floats", "images"]
    assert rows["sample count: the first 20 samples instead of all 60"]["n"] == 20
    assert "fid_inf" in rows["sample count: the first 20 samples instead of all 60"]
    with open(out / "tables/protocol.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == len(study["rows"])
    assert (out / "figures/protocol.png").stat().st_size > 10_000
    summary = (out / "summary.md").read_text()
    assert "paired" in (out / "tables/protocol.md").read_text() and "(figures/protocol.png)" in summary
    assert "Your sample set test-split vs our eta=0.0 at S=10 (unpaired" in summary


def test_rerun_is_a_no_op(small_run):
    result = snakemake(small_run, spaced_config(small_run))
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


def test_an_unfinished_shard_is_redone_alone(small_run):
    # As a run stopped inside one shard leaves it: no shard outputs, so nothing downstream of it either.
    cell = small_run / "results/small/cells/digits/linear/NFE10/sigma_hat"
    shutil.rmtree(cell / "shard1")
    for name in ("stats.npz", "metrics.json"):
        (cell / name).unlink()
    shutil.rmtree(small_run / "results/small/tables")  # and what a stopped run never reached, downstream
    for path in ("figures/timing.png", "figures/timing.pdf", "figures/fid.png", "figures/fid.pdf", "summary.md"):
        (small_run / "results/small" / path).unlink()
    plan = snakemake(small_run, spaced_config(small_run), "-n")
    assert plan.returncode == 0 and "Job stats:" in plan.stdout, plan.stdout[-3000:] + plan.stderr[-3000:]
    # (the sampler and protocol studies' tables and figures are redone because their folder, tables/, was removed)
    assert job_counts(plan.stdout) == {"all": 1, "cell_metrics": 1, "sample_shard": 1, "tables": 1,
                                       "summary": 1, "timing_figure": 1, "fid_figure": 1, "sampler_study": 1,
                                       "sampler_figure": 1, "protocol_study": 1, "total": 10}
    before = (cell / "shard0/stats.npz").stat().st_mtime_ns
    assert snakemake(small_run, spaced_config(small_run)).returncode == 0
    assert (cell / "shard0/stats.npz").stat().st_mtime_ns == before and (cell / "metrics.json").exists()


def test_demo_config_plans_every_table(tmp_path):
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n"], capture_output=True, text=True,
                            env=main_install_env())
    assert result.returncode == 0, result.stderr[-3000:]
    # Table 1: 2 S x 5 variants; the sampler study: 7 samplers x 2 NFE budgets, of which DDIM at 10 is Table 1's;
    # the protocol study: the other spacing's and the non-EMA weights' cells (with that dataset's reference).
    assert job_counts(result.stdout) == {"all": 1, "cell_metrics": 25, "prepare_digits": 1, "reconstruct": 2,
                                         "reference_stats": 2, "sample_shard": 25, "tables": 1, "timing": 2,
                                         "image_figures": 1, "timing_figure": 1, "fid_figure": 1, "sampler_study": 1,
                                         "sampler_figure": 1, "protocol_study": 1, "summary": 1, "total": 66}


@pytest.mark.parametrize("edit, message", [
    ({"table1": {"datasets": ["imagenet"], "steps": [10], "variants": [0.0]}},
     r"table1.datasets: unknown dataset 'imagenet'; defined under datasets: \['digits', 'digits_no_ema'\]"),
    ({"table1": {"datasets": ["digits"], "steps": [10], "variants": [-0.5]}},
     r"table1.variants\[0\]: sampler 'ddim'.eta: -0.5 is not allowed; allowed: a number >= 0"),
    ({"table1": {"datasets": ["digits"], "steps": [10], "variants": ["sigma"]}},
     r"config: table1.variants\[0\]: 'sigma' is not allowed; allowed: a number or 'sigma_hat'"),
    ({"table2": {"datasets": ["digits"], "steps": [1001]}}, r"table2.steps: \[1001\] exceed T = 1000"),
    ({"table1": {"datasets": ["digits"], "steps": [10], "variants": [0.0, 50.0]}},
     r"config: table1.variants\[1\]: dataset 'digits' at S = 10: sampler 'ddim-eta=50.0': eta=50 is too large for "
     r"the step t=\d+ -> t'=\d+ of 10 steps: sigma\^2 = .* allowed here: eta <= [0-9.]+\n"),
    ({"table3": {"datasets": ["digits"], "steps": [5, 10], "variants": [1.5]}},
     r"config: table3.variants\[0\]: dataset 'digits' at S = 5: sampler 'ddim-eta=1.5': eta=1.5 is too large"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": [{"name": "ddim", "params": {"eta": 3}}]}},
     r"samplers.samplers: dataset 'digits' at NFE 10: sampler 'ddim-eta=3.0': eta=3 is too large for the step"),
    ({"device": "foo"}, r"config: device: 'foo' is not a device; allowed: auto, cpu, cuda, cuda:<index>, mps"),
    ({"device": "cuda0"}, r"config: device: 'cuda0' is not a device \(did you mean 'cuda'\?\)"),
    ({"extractor": {"name": "digit-cnn"}},
     r"config: extractor: unknown feature extractor 'digit-cnn' \(did you mean 'digits-cnn'\?\)"),
    ({"extractor": {"name": "digits-cnn", "layer": "2048"}},
     r"config: extractor: extractor 'digits-cnn' has no feature layer '2048'; it provides"),
    ({"datasets": {"digits": {"model": "digits", "source": "digits", "reference_split": "train",
                              "spacing": "cosine"}}},
     r"datasets.digits.spacing: spacing 'cosine' is not one of a discrete grid's: \['linear', 'quadratic'"),
    ({"n_samples": 0}, r"config: n_samples: 0 is less than the minimum of 1"),
    ({"n_samples": 2.5}, r"config: n_samples: 2.5 is not of type 'integer'"),
    ({"n_sample": 100}, r"config: unknown key 'n_sample' \(did you mean 'n_samples'\?\); allowed: batch_size, "),
    ({"datasets": {"digits": {"model": "imagenet64", "source": "digits", "reference_split": "train"}}},
     r"datasets.digits.model: 'imagenet64' is not a registered model"),
    ({"datasets": SMALL["datasets"] | {"cifar10": {"model": "cifar10", "source": "prepared",
                                                   "reference_split": "train"}}},
     r"dataset 'cifar10' \(source: prepared\) needs resources/cifar10/train.npy"),
    ({"extractor": {"name": "inception-v3-compat", "weights_path": "nowhere/inception.pth"}},
     r"extractor.weights_path: nowhere/inception.pth does not exist"),
    ({"intervals": {"level": 1.5}}, r"config: intervals.level: 1.5 is greater than or equal to the maximum of 1"),
    ({"intervals": {"level": 0}}, r"config: intervals.level: 0 is less than or equal to the minimum of 0"),
    ({"intervals": {"n_boot": 1}}, r"config: intervals.n_boot: 1 is less than the minimum of 2"),
    ({"fid_infinity": "yes"}, r"config: fid_infinity: 'yes' is not of type 'boolean'"),
    ({"fast_path": {"precision": "int8"}}, r"'int8' is not one of \['fp32', 'tf32', 'bf16', 'fp16'\]"),
    ({"fast_path": {"cuda_graphs": True}}, r"fast_path: cuda_graphs needs compile"),
    ({"batch_size": "big"}, r"config: batch_size: 'big' is not allowed; allowed: an integer or 'auto'"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": [{"name": "ddim", "parms": {"eta": 1}}]}},
     r"config: samplers.samplers\[0\]: unknown key 'parms' \(did you mean 'params'\?\)"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": ["ddim", "dpm_solver_ppp"]}},
     r"samplers.samplers\[1\]: sampler 'dpm_solver_ppp' is not registered; registered: \['ddim', 'deis'"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": [{"name": "unipc", "params": {"order": 5}}]}},
     r"sampler 'unipc'.order: 5 is not allowed; allowed: \[1, 2, 3\]"),
    ({"samplers": {"datasets": ["digits"], "nfe": [2, 10], "samplers": [{"name": "fpndm"}]}},
     r"samplers.nfe: sampler 'fpndm': NFE 2 is too small: 4 steps plus the warm-up's 9 needs at least 13"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": [{"name": "heun", "spacing": "logSNR"}]}},
     r"sampler 'heun': spacing 'logSNR' is not one of a karras grid's: \['karras'\]"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": [{"function": "no_such_module:sampler"}]}},
     r"sampler function 'no_such_module:sampler': cannot import 'no_such_module'"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": [{"function": "user_sampler:wrong_signature"}]}},
     r"sampler function 'user_sampler:wrong_signature'\(eps_model, x_T\) cannot be called as wrong_signature\("),
    ({"samplers": {"datasets": ["digits"], "nfe": [10],
                   "samplers": [{"function": "user_sampler:ddim_by_hand", "params": {"temperature": 2}}]}},
     r"cannot be called as ddim_by_hand\(eps_model, x_T, grid, \*, generator, temperature=...\)"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": ["ddim", "ddim"]}},
     r"samplers.samplers: labels \['ddim', 'ddim'\] repeat"),
    ({"samplers": {"datasets": ["digits"], "nfe": [10], "samplers": ["ddim", {"name": "ddim", "label": "DDIM"}]}},
     r"samplers.samplers: keys \['ddim', 'ddim'\] repeat"),
    ({"figures": {"datasets": ["digits"], "samples": {"steps": [5], "variants": [0.0, -1], "n": 2},
                  "consistency": {"steps": [5], "n": 2}, "interpolation": {"steps": 5, "pairs": 1, "points": 3}}},
     r"figures.samples.variants\[1\]: sampler 'ddim'.eta: -1 is not allowed"),
    ({"external": [{"name": "mine", "path": "nowhere/samples.npz", "dataset": "digits", "table": "table1", "S": 10}]},
     r"external\[0\].path: nowhere/samples.npz does not exist"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "checkpoint": "digits"}},
     r"config: protocol_study.checkpoint: 'digits' is not another dataset of the config"),
])
def test_bad_config_fails_before_any_job(tmp_path, edit, message):
    result = snakemake(tmp_path, SMALL | edit, "-n")
    assert result.returncode != 0
    assert re.search(message, result.stdout + result.stderr, re.DOTALL), result.stderr[-2000:]
    assert len(result.stderr.splitlines()) < 15, result.stderr[-3000:]  # the error, not the schema
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


@pytest.mark.parametrize("gpus", [1, 2])
def test_a_local_gpu_run_gets_one_job_per_visible_gpu(tmp_path, gpus):
    """A CUDA config run here starts at most one GPU job per GPU nvidia-smi lists (tests/experiment/test_devices.py
    shows Snakemake keeping to that count); the split it asks for is a CPU job, so it runs."""
    env = {"PATH": fake_nvidia_smi(tmp_path, gpus)}
    result = snakemake(tmp_path, SMALL | {"device": "cuda"}, "resources/digits/test.npy", env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f'Provided resources: gpu=Resource("gpu", {gpus})' in result.stdout + result.stderr
    (tmp_path / "given").mkdir()
    given = snakemake(tmp_path / "given", SMALL | {"device": "cuda"}, "resources/digits/test.npy", "--resources",
                      "gpu=1", env=env)
    assert 'Provided resources: gpu=Resource("gpu", 1)' in given.stdout + given.stderr  # the user's count wins


def test_a_gpu_config_without_a_gpu_is_planned_but_not_run(tmp_path):
    env = {"PATH": str(tmp_path), "CUDA_VISIBLE_DEVICES": ""}  # no nvidia-smi, no GPU
    env["PATH"] += os.pathsep + os.environ["PATH"]
    assert snakemake(tmp_path, SMALL | {"device": "cuda"}, "-n", env=env).returncode == 0
    result = snakemake(tmp_path, SMALL | {"device": "cuda"}, env=env)
    assert result.returncode != 0
    assert "config: device: 'cuda' asks for a GPU, but none is visible here" in result.stderr
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_paper_quick_config_plans_cifar10(tmp_path):
    """A CIFAR-10-only config replaces the demo: nothing of digits, its sampler study, FID_inf or precision /
    recall is planned, and keys it leaves out take the schema's defaults."""
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n", "-p", "--configfile",
                             str(CHECKOUT / "config/paper-quick.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    # 4 S x eta {0, 1} cells (Table 3's eta = 0 column reuses Table 1's), 2 shards of 5000 each; the checkpoint
    # and the archive are fetched by local rules, once.
    assert job_counts(result.stdout) == {"all": 1, "cell_metrics": 8, "download_cifar10": 1, "fetch_checkpoint": 1,
                                         "fetch_inception": 1, "prepare_cifar10": 1, "reconstruct": 4,
                                         "reference_stats": 1, "sample_shard": 16, "tables": 1, "timing": 4,
                                         "image_figures": 1, "timing_figure": 1, "fid_figure": 1, "summary": 1,
                                         "total": 43}
    assert "resources/checkpoints/ema_diffusion_cifar10_model/model-790000.ckpt" in result.stdout
    assert "digits" not in result.stdout and "--fid-infinity" not in result.stdout
    assert "--precision-recall" not in result.stdout and "sampler_study" not in result.stdout
    assert "--repeats 3 " in result.stdout  # the schema's default, not the demo's 2


def test_paper_config_plans_the_whole_paper(tmp_path):
    """The README's one-GPU command, planned."""
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n", "--resources", "gpu=1", "--configfile",
                             str(CHECKOUT / "config/paper.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    # Table 1: cifar10 + celeba x 5 S x 5 variants = 50 cells; Table 3: 2 LSUN x 4 S x eta {0, 1} = 16 cells;
    # the sampler study: 2 datasets x (9 samplers x 8 NFE + F-PNDM's 4) = 152 cells, of which DDIM at S = 10, 20
    # and 50 are Table 1's eta = 0 cells; 10 shards of 5000 each; Table 2: 7 S; Figure 4: 2 datasets x 5 S;
    # 4 checkpoints; 4 reference sets. The protocol study on CIFAR-10 at S = 100: the linear spacing's cell and the
    # non-EMA weights' (a fifth checkpoint and reference set).
    assert job_counts(result.stdout) == {
        "all": 1, "cell_metrics": 214, "download_celeba": 1, "download_cifar10": 1, "download_lsun": 2,
        "fetch_checkpoint": 5, "fetch_inception": 1, "image_figures": 4, "prepare_celeba": 1, "prepare_cifar10": 1,
        "prepare_lsun": 2, "reconstruct": 7, "reference_stats": 5, "sample_shard": 2140, "summary": 1, "tables": 1,
        "timing": 10, "timing_figure": 1, "fid_figure": 1, "sampler_study": 1, "sampler_figure": 1,
        "protocol_study": 1, "total": 2402}
    plan = (ROOT / "docs/paper.md").read_text()
    assert "| sample_shard | 2140 |" in plan and "| total | 2402 |" in plan  # the docs' table is this plan


def test_the_slurm_profile_plans_a_paper_config(tmp_path):
    """The README's SLURM command, planned (submitting jobs needs a cluster)."""
    result = subprocess.run([*SNAKEMAKE, "--profile", str(CHECKOUT / "profiles/slurm"), "--directory", str(tmp_path), "-n",
                             "--configfile", str(CHECKOUT / "config/paper-quick.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stdout)["sample_shard"] == 16


def test_gpu_rehearsal_config_plans_an_offline_random_weight_run(tmp_path):
    """config/gpu-rehearsal.yaml: the CIFAR-10 network with random weights on a local split, nothing fetched."""
    for split in ("train", "test"):
        path = tmp_path / f"resources/cifar10_rehearsal/{split}.npy"
        path.parent.mkdir(parents=True, exist_ok=True)
        np.save(path, np.zeros((4, 3, 32, 32), np.uint8))
    (tmp_path / "resources/rehearsal").mkdir()
    (tmp_path / "resources/rehearsal/inception-random.pth").touch()
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n", "-p", "--configfile",
                             str(CHECKOUT / "config/gpu-rehearsal.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    # Table 1: 2 S x eta {0, 1} = 4 cells x 2 shards; Table 2 at one S; Figure 4 at two.
    assert job_counts(result.stdout) == {"all": 1, "cell_metrics": 4, "reconstruct": 1, "reference_stats": 1,
                                         "sample_shard": 8, "tables": 1, "timing": 2, "timing_figure": 1,
                                         "fid_figure": 1, "summary": 1, "total": 21}
    samples = [line for line in result.stdout.splitlines() if "ddim_eval.cli sample cifar10" in line]
    assert len(samples) == 8 and all("--random-weights" in line and "--device cuda" in line for line in samples)


def test_a_killed_run_resumes_without_redoing_finished_shards(tmp_path):
    """SIGKILL the whole run while a shard is sampling: finished shards stay, nothing half-written is left, the
    next run says to --unlock, and after it only the unfinished work is done, the killed shard resuming after its
    last finished batch."""
    config = {k: v for k, v in SMALL.items() if k != "protocol_study"} | {
        "run": "killed", "n_samples": 2000, "shard_size": 1000, "batch_size": 100, "external": [],
        "table1": {"datasets": ["digits"], "steps": [20], "variants": [0.0]}, "samplers": None}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    cell = tmp_path / "results/killed/cells/digits/linear/NFE20/ddim"
    shards = [str((cell / f"shard{k}/stats.npz").relative_to(tmp_path)) for k in range(2)]
    run = [*SNAKEMAKE, "--directory", str(tmp_path), "--configfile", str(path), "-c", "1", *shards]
    proc = subprocess.Popen(run, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    logs = tmp_path / "results/killed/logs/sample/digits/linear/NFE20/ddim"

    def sampling_unfinished_shard() -> bool:  # one shard done, the other with a finished batch of its 10
        done = {p.parent.name for p in cell.glob("shard*/stats.npz")}
        return bool(done) and any(p.parent.parent.name not in done for p in cell.glob("shard*/.partial/batch*.npz"))

    deadline = time.monotonic() + 300
    try:
        while not sampling_unfinished_shard():
            assert proc.poll() is None, "the run ended before a shard could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    finished = {p.parent.name: p.stat().st_mtime_ns for p in cell.glob("shard*/stats.npz")}
    assert len(finished) == 1  # of 2: the other was sampling when the run was killed
    for f in cell.rglob("*"):  # what a reader can see is whole; temp files are hidden (dot) names
        if f.is_file() and not f.name.startswith("."):
            assert f.parent.name in finished or f.parent.name == ".partial", f
            (np.load(f) if f.suffix == ".npz" else json.loads(f.read_text()))
    unfinished = next(p for p in cell.glob("shard*") if p.name not in finished)
    committed = len(list((unfinished / ".partial").glob("batch*.npz")))  # the killed shard's finished batches

    locked = subprocess.run(run, capture_output=True, text=True)
    assert locked.returncode != 0 and "--unlock" in locked.stdout + locked.stderr
    assert subprocess.run([*run, "--unlock"], capture_output=True).returncode == 0
    resumed = subprocess.run(run, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert {p.parent.name: p.stat().st_mtime_ns for p in cell.glob("shard*/stats.npz") if p.parent.name in finished} \
        == finished
    assert sum(int(np.load(tmp_path / shard)["n"]) for shard in shards) == 2000
    # The killed shard went on from its last finished batch, and its progress folder is gone.
    assert committed >= 1 and f"resuming after {committed} finished batch(es) of 100" in (
        logs / f"{unfinished.name}.log").read_text()
    assert json.loads((unfinished / "timing.json").read_text())["resumed_batches"] == committed
    assert not list(cell.glob("shard*/.partial"))
