"""The small grid through `--profile profiles/slurm` on a one-node SLURM cluster made on this machine
(`slurm_cluster`): every job but the local ones is an sbatch job, and the results are the same bytes as the local
run's (`small_run`)."""

import re
import shutil
from pathlib import Path

from ddim_eval.metrics.digits_cnn import PACKAGED_WEIGHTS

from grid_runs import CHECKOUT, snakemake, spaced_config

# The profile as a user runs it, shrunk to this node (2 cores): 2 GB and one CPU per job, 30 minutes, and status
# checks from the first seconds (the plugin's default waits 40 s before its first).
SMALL_NODE = "mem_mb=2000"
ON_THIS_NODE = ["--profile", str(CHECKOUT / "profiles/slurm"), "--default-resources", SMALL_NODE, "runtime=30",
                "cpus_per_task=1", "--set-resources", *(f"{rule}:{SMALL_NODE}" for rule in (
                    "sample_shard", "reference_stats", "reconstruct", "timing", "image_figures")),
                "--slurm-init-seconds-before-status-checks", "2"]
LOCAL_RULES = {"all", "prepare_digits"}  # the workflow's localrules that the small grid runs


def _results(workdir: Path) -> dict[str, bytes]:
    """Every statistics, features and table file of a run, by path (the timing table is wall-clock, not compared)."""
    return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted((workdir / "results").rglob("*"))
            if p.suffix in (".npz", ".csv") and p.name != "timing.csv"}


def test_the_small_grid_through_slurm_is_the_local_run(slurm_cluster, small_run, tmp_path):
    workdir = tmp_path / "slurm work"
    (workdir / "my weights").mkdir(parents=True)
    shutil.copy(PACKAGED_WEIGHTS, workdir / "my weights/digits cnn.safetensors")
    result = snakemake(workdir, spaced_config(workdir), *ON_THIS_NODE)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    rules = re.findall(r"^(local)?rule (\w+):", output, re.MULTILINE)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    assert {name for local, name in rules if local} == LOCAL_RULES
    assert len(submitted) == len([name for local, name in rules if not local]) > 30  # every other job: one sbatch
    mine, local = _results(workdir), _results(small_run)
    assert len(mine) > 50 and mine.keys() == local.keys()
    assert [path for path in mine if mine[path] != local[path]] == []
