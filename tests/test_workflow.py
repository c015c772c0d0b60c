"""The Snakemake workflow: a reduced demo grid end to end, a no-op rerun, resuming, and config errors."""

import csv
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile")]
SMALL = {
    "run": "small", "batch_size": 50, "n_samples": 60, "shard_size": 30,
    "table1": {"datasets": ["digits"], "steps": [5, 10], "variants": [0.0, "sigma_hat"]},
    "table2": {"datasets": ["digits"], "steps": [5, 10], "n": 20},
    "table3": {"datasets": ["digits"], "steps": [5, 10], "variants": [0.0, 1.0]},
    "timing": {"datasets": ["digits"], "steps": [5], "batch_size": 10},
}


def snakemake(workdir: Path, config: dict, *args: str) -> subprocess.CompletedProcess:
    path = workdir / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return subprocess.run([*SNAKEMAKE, "--directory", str(workdir), "--configfile", str(path), "-c", "2", *args],
                          capture_output=True, text=True)


def job_counts(output: str) -> dict[str, int]:
    lines = output[output.index("Job stats:"):].splitlines()[3:]
    counts = {}
    for line in lines:
        parts = line.split()
        if len(parts) != 2 or not parts[1].isdigit():
            break
        counts[parts[0]] = int(parts[1])
    return counts


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    result = snakemake(workdir, SMALL)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_small_grid_end_to_end(small_run):
    tables = small_run / "results/small/tables"
    rows = {}
    for name in ("table1", "table2", "table3", "timing"):
        with open(tables / f"{name}.csv", newline="") as f:
            rows[name] = list(csv.DictReader(f))
        assert (tables / f"{name}.md").read_text().startswith("| dataset | variant | S=5")
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
    assert len(shards) == 6 * 2 and set(shards) == {"shard0", "shard1"}  # 6 distinct cells, 2 shards each


def test_rerun_is_a_no_op(small_run):
    result = snakemake(small_run, SMALL)
    assert result.returncode == 0 and "Nothing to be done" in result.stdout + result.stderr


def test_an_unfinished_shard_is_redone_alone(small_run):
    # As a run stopped inside one shard leaves it: no shard outputs, so nothing downstream of it either.
    cell = small_run / "results/small/cells/digits/linear/S10/sigma_hat"
    shutil.rmtree(cell / "shard1")
    for name in ("stats.npz", "metrics.json"):
        (cell / name).unlink()
    shutil.rmtree(small_run / "results/small/tables")
    plan = snakemake(small_run, SMALL, "-n")
    assert job_counts(plan.stdout) == {"all": 1, "cell_metrics": 1, "sample_shard": 1, "tables": 1, "total": 4}
    before = (cell / "shard0/stats.npz").stat().st_mtime_ns
    assert snakemake(small_run, SMALL).returncode == 0
    assert (cell / "shard0/stats.npz").stat().st_mtime_ns == before and (cell / "metrics.json").exists()


def test_demo_config_plans_every_table(tmp_path):
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert job_counts(result.stdout) == {"all": 1, "cell_metrics": 20, "prepare_digits": 1, "reconstruct": 4,
                                         "reference_stats": 1, "sample_shard": 20, "tables": 1, "timing": 4,
                                         "total": 52}


@pytest.mark.parametrize("edit, message", [
    ({"table1": {"datasets": ["imagenet"], "steps": [10], "variants": [0.0]}},
     r"table1.datasets: unknown dataset 'imagenet'; defined under datasets: \['digits'\]"),
    ({"table1": {"datasets": ["digits"], "steps": [10], "variants": [-0.5]}},
     r"-0.5 is not valid under any of the given schemas.*\['table1'\]\['variants'\]"),
    ({"table2": {"datasets": ["digits"], "steps": [1001]}}, r"table2.steps: \[1001\] exceed T = 1000"),
    ({"datasets": {"digits": {"model": "digits", "source": "digits", "reference_split": "train",
                              "spacing": "cosine"}}}, r"'cosine' is not one of \['linear', 'quadratic'\]"),
    ({"n_samples": 0}, r"0 is less than the minimum of 1.*\['n_samples'\]"),
    ({"n_samples": 2.5}, r"2.5 is not of type 'integer'.*\['n_samples'\]"),
    ({"datasets": {"digits": {"model": "imagenet64", "source": "digits", "reference_split": "train"}}},
     r"datasets.digits.model: 'imagenet64' is not a registered model"),
    ({"datasets": {"cifar10": {"model": "cifar10", "source": "prepared", "reference_split": "train"}}},
     r"dataset 'cifar10' \(source: prepared\) needs resources/cifar10/train.npy"),
])
def test_bad_config_fails_before_any_job(tmp_path, edit, message):
    result = snakemake(tmp_path, SMALL | edit, "-n")
    assert result.returncode != 0
    assert re.search(message, result.stdout + result.stderr, re.DOTALL), result.stderr[-2000:]
    assert not (tmp_path / "results").exists() and not (tmp_path / "resources").exists()


def test_paper_quick_config_plans_cifar10(tmp_path):
    result = subprocess.run([*SNAKEMAKE, "--directory", str(tmp_path), "-n", "--configfile",
                             str(ROOT / "config/paper-quick.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    # 4 S x eta {0, 1} cells (Table 3's eta = 0 column reuses Table 1's), 2 shards of 5000 each; the checkpoint
    # and the archive are fetched by local rules, once.
    assert job_counts(result.stdout) == {"all": 1, "cell_metrics": 8, "download_cifar10": 1, "fetch_checkpoint": 1,
                                         "prepare_cifar10": 1, "reconstruct": 4, "reference_stats": 1,
                                         "sample_shard": 16, "tables": 1, "timing": 4, "total": 38}
    assert "resources/checkpoints/ema_diffusion_cifar10_model/model-790000.ckpt" in result.stdout
