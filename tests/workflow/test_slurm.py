"""The workflow through `--profile profiles/slurm` on a one-node SLURM cluster made on this machine
(`slurm_cluster`): the small grid's tables, every job but the local data preparation an sbatch job, are the same
bytes as the local run's (`small_run`); a sample shard preempted, cancelled or killed at its time limit resumes after its last finished batch
on SLURM's requeue or the profile's retry, to the same bytes as a shard never interrupted."""

import json
import re
import shutil
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from ddim_eval.metrics.digits_cnn import PACKAGED_WEIGHTS

from grid_runs import CHECKOUT, snakemake, spaced_config, start_snakemake

PROFILE = CHECKOUT / "profiles/slurm"
NODE_MEMORY_MB = 2000


def on_this_node(**set_resources: dict[str, int]) -> list[str]:
    """The profile as a user runs it, shrunk to this node (2 cores): its per-rule runtimes, but at most 2 GB and one
    CPU per job (its 32 GB jobs exceed this node), status checks from the first seconds (the plugin's default waits
    40 s before its first), and `set_resources` ({rule: {resource: value}}) on top. A `--set-resources` given on
    the command line replaces the profile's whole list, so the profile's own entries are given again."""
    rules = yaml.safe_load((PROFILE / "config.yaml").read_text())["set-resources"]
    for rule, resources in set_resources.items():
        rules[rule] = rules.get(rule, {}) | resources
    return ["--profile", str(PROFILE), "--default-resources", f"mem_mb={NODE_MEMORY_MB}", "runtime=30",
            "cpus_per_task=1", "--set-resources",
            *(f"{rule}:{name}={min(value, NODE_MEMORY_MB) if name == 'mem_mb' else value}"
              for rule, resources in rules.items() for name, value in resources.items()),
            "--slurm-init-seconds-before-status-checks", "2"]


# Every table of the small grid (the rules `tables` and `sampler_study`): every cell's shards and metrics, the
# reference, reconstruction and timing jobs. The figures and the summary, plain CPU jobs like the tables, are left
# to the local run (each level of the DAG costs a SLURM run ~15 s of status checks).
TABLES = ("results/small/tables/table1.csv", "results/small/tables/samplers.csv")


def _results(workdir: Path) -> dict[str, bytes]:
    """Every statistics, features and table file of a run, by path (the timing table is wall-clock, not compared)."""
    return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted((workdir / "results").rglob("*"))
            if p.suffix in (".npz", ".csv") and p.name != "timing.csv"}


def _workdir(path: Path) -> Path:
    (path / "my weights").mkdir(parents=True)
    shutil.copy(PACKAGED_WEIGHTS, path / "my weights/digits cnn.safetensors")
    return path


@pytest.mark.usefixtures("interrupted_runs")  # started first, they run beside the grid
def test_the_small_grid_through_slurm_is_the_local_run(slurm_cluster, small_run, tmp_path):
    workdir = _workdir(tmp_path / "slurm work")
    result = snakemake(workdir, spaced_config(workdir), *TABLES, *on_this_node())
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    rules = re.findall(r"^(local)?rule (\w+):", output, re.MULTILINE)
    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", output)
    assert [name for local, name in rules if local] == ["prepare_digits"]
    assert len(submitted) == len([name for local, name in rules if not local]) > 30  # every other job: one sbatch
    mine, local = _results(workdir), _results(small_run)
    assert len(mine) > 50 and mine.keys() <= local.keys() and set(TABLES) <= mine.keys()
    assert [path for path in mine if mine[path] != local[path]] == []


# One cell of the sampler study whose shards take as long as a test needs: DDIM by hand (.test/user_sampler.py), each
# network call slowed by SLOW_SAMPLER_SECONDS (unset: not slowed, the uninterrupted run). The samples are the same.
SLOW_SAMPLER = '''
import os
import time

from user_sampler import ddim_by_hand


def ddim_slowly(eps_model, x_T, grid, *, generator=None):
    delay = float(os.environ.get("SLOW_SAMPLER_SECONDS", "0"))

    def slowed(x, t):
        time.sleep(delay)
        return eps_model(x, t)

    return ddim_by_hand(slowed, x_T, grid, generator=generator)
'''
SLOW_CELL = "results/small/cells/digits/linear/NFE10/slow"
BATCH = 5


def _slow_cell(workdir: Path, n_samples: int, shard_size: int) -> tuple[dict, list[str]]:
    """The small grid's config with the slow cell in shards of `shard_size` (batches of 5), and its shards' paths
    as Snakemake's targets (nothing else of the grid runs)."""
    (workdir / "slow_sampler.py").write_text(SLOW_SAMPLER)
    slow = {"datasets": ["digits"], "nfe": [10], "samplers": [{"function": "slow_sampler:ddim_slowly", "label": "slow"}]}
    config = spaced_config(workdir) | {"n_samples": n_samples, "shard_size": shard_size, "batch_size": BATCH,
                                       "samplers": slow}
    return config, [f"{SLOW_CELL}/shard{k}/stats.npz" for k in range(-(-n_samples // shard_size))]


def _shard_outputs(workdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(workdir)): p.read_bytes() for p in sorted((workdir / SLOW_CELL).glob("shard*/*.npz"))}


def _wait_for(condition, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        if time.monotonic() > deadline:
            pytest.fail(f"no {what} within {seconds} s")
        time.sleep(0.5)
    return found


def _running_job(workdir: Path, shard: int, batches: int) -> str | None:
    """The SLURM job id of shard `shard` once it runs and has finished `batches` batches, else None."""
    if len(list((workdir / SLOW_CELL / f"shard{shard}/.partial").glob("batch*.npz"))) < batches:
        return None
    queue = subprocess.run(["squeue", "-h", "-t", "RUNNING", "-o", "%i %k"], capture_output=True, text=True).stdout
    # The plugin's comment names the rule and the wildcards, the shard last.
    return next((job for job, comment in (line.split() for line in queue.splitlines())
                 if comment == f"rule_sample_shard_wildcards_digits_linear_10_slow_{shard}"), None)


def _state(job: str) -> str:
    return subprocess.run(["squeue", "-h", "-j", job, "-o", "%T"], capture_output=True, text=True).stdout.strip()


def _interrupted_run(tmp_path: Path, n_samples: int, shard_size: int, delay: float, interrupt, **set_resources):
    """The slow cell run once locally, never interrupted, and once through SLURM slowed by `delay` s per network
    call, while `interrupt(workdir)` acts on its jobs; returns (the SLURM run's output, its workdir, the local
    run's workdir), having checked that both runs succeed."""
    local = _workdir(tmp_path / "local")
    config, targets = _slow_cell(local, n_samples, shard_size)
    result = snakemake(local, config, *targets)
    assert result.returncode == 0, result.stderr[-3000:]
    workdir = _workdir(tmp_path / "slurm work")
    config, targets = _slow_cell(workdir, n_samples, shard_size)
    run = start_snakemake(workdir, config, *targets, *on_this_node(**set_resources),
                          env={"SLOW_SAMPLER_SECONDS": str(delay)})
    try:
        interrupt(workdir)
        run.wait(timeout=900)
    finally:
        if run.poll() is None:
            run.send_signal(signal.SIGINT)  # Snakemake cancels its SLURM jobs
            run.wait(timeout=60)
    output = (workdir / "snakemake.log").read_text()
    assert run.returncode == 0, output[-3000:]
    return output, workdir, local


def _preempt_and_cancel(workdir: Path) -> None:
    """Shard 0 requeued by SLURM (what preemption in REQUEUE mode does), shard 1 cancelled, each after 2 batches."""
    for shard, command in ((0, "requeue"), (1, "cancel")):
        job = _wait_for(lambda: _running_job(workdir, shard, 2), 300, f"shard {shard} with 2 batches done")
        if command == "requeue":
            subprocess.run(["scontrol", "requeue", job], check=True)
            # SLURM holds a requeued job for 2 minutes (its BeginTime, once it is pending again); the test does
            # not wait for them.
            _wait_for(lambda: _state(job) == "PENDING", 60, f"job {job} pending after its requeue")
            subprocess.run(["scontrol", "update", f"jobid={job}", "StartTime=now"], check=True)
        else:
            subprocess.run(["scancel", job], check=True)


@pytest.fixture(scope="session")  # session: set up before the grid test's other session fixture, the local run
def interrupted_runs(slurm_cluster, tmp_path_factory):
    """The two interrupted runs, started by the grid's test: they mostly wait (on sleeps, SLURM's time
    limit and the plugin's status checks), so they run beside the grid's busy jobs (on the test cluster up to four
    jobs share a core) instead of after them."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield {
            # 2 shards of 8 batches of 3 s.
            "preempted": pool.submit(_interrupted_run, tmp_path_factory.mktemp("preempted"), 80, 40, 0.3,
                                     _preempt_and_cancel),
            # 1 shard of 30 batches of 5 s (150 s) with a runtime of 2 minutes: SLURM ends it at the first of its
            # 30 s checks past 120 s (TIMEOUT), and the retry has at most 35 s of batches left. Run from scratch,
            # the retry would be killed too.
            "time limit": pool.submit(_interrupted_run, tmp_path_factory.mktemp("time limit"), 150, 150, 0.5,
                                      lambda workdir: None, sample_shard={"runtime": 2}),
        }


def _resumed(workdir: Path, shard: int) -> int:
    """How many finished batches shard `shard` resumed after, by its log and its timing record (which agree)."""
    log = next((workdir / "results/small/logs/sample").rglob(f"slow/shard{shard}.log")).read_text()
    said = [int(n) for n in re.findall(r"resuming after (\d+) finished batch", log)]
    recorded = json.loads((workdir / SLOW_CELL / f"shard{shard}/timing.json").read_text())["resumed_batches"]
    assert said and said[-1] == recorded, log[-2000:]
    return recorded


def test_a_preempted_or_cancelled_shard_resumes_to_the_same_bytes(interrupted_runs):
    """Shard 0 is requeued by SLURM (`scontrol requeue`) and shard 1 is cancelled (`scancel`, seen by the plugin as
    CANCELLED, then submitted again by the profile's `retries`), each after 2 of its 8 batches; both resume after
    their finished batches, to the uninterrupted bytes."""
    output, workdir, local = interrupted_runs["preempted"].result(timeout=900)
    assert "SLURM status is: 'CANCELLED'" in output
    assert all(_resumed(workdir, shard) >= 2 for shard in (0, 1))
    mine, uninterrupted = _shard_outputs(workdir), _shard_outputs(local)
    assert len(mine) == 6 and mine == uninterrupted  # 2 shards' features, statistics and kept samples


def test_a_shard_past_its_time_limit_finishes_on_the_retry(interrupted_runs):
    """A shard of 150 s given 2 minutes: killed by SLURM at its limit (TIMEOUT), finished by the profile's retry."""
    output, workdir, local = interrupted_runs["time limit"].result(timeout=900)
    assert "SLURM status is: 'TIMEOUT'" in output
    assert _resumed(workdir, 0) >= 15
    mine, uninterrupted = _shard_outputs(workdir), _shard_outputs(local)
    assert len(mine) == 3 and mine == uninterrupted  # its features, statistics and kept samples


def test_a_gpu_job_asks_sbatch_for_one_gpu_with_the_profiles_memory_and_runtime(slurm_cluster, tmp_path):
    """With `device: cuda`, a sample shard is submitted with one GPU (the rule's gpu=1, which the plugin turns into
    --gpus=1), the profile's runtime for sample_shard (720 minutes) and the memory this test gives it on the command
    line (the profile's 32 GB exceeds this node), as the submitted job shows (`scontrol show job`). The node's GPU is
    a GRES without a device (local-cluster.sh): the job itself would find no CUDA, so the run is stopped once the job
    is seen."""
    workdir = _workdir(tmp_path / "gpu work")
    shard = "results/small/cells/digits/linear/NFE5/ddim/shard0/stats.npz"
    run = start_snakemake(workdir, spaced_config(workdir) | {"device": "cuda"}, shard, *on_this_node())

    def submitted():  # this run's job: its working directory tells it from the grid run's job of the same cell
        queue = subprocess.run(["squeue", "-h", "-t", "all", "-o", "%i|%k|%Z"], capture_output=True, text=True).stdout
        return next((job for job, comment, folder in (line.split("|") for line in queue.splitlines())
                     if comment == "rule_sample_shard_wildcards_digits_linear_5_ddim_0" and folder == str(workdir)),
                    None)

    try:
        job = _wait_for(submitted, 120, "sample shard submitted")
    finally:
        run.send_signal(signal.SIGINT)  # Snakemake cancels its SLURM jobs
        run.wait(timeout=60)
    shown = dict(field.split("=", 1) for field in subprocess.run(
        ["scontrol", "show", "job", "-o", job], capture_output=True, text=True, check=True).stdout.split() if "=" in field)
    assert shown["TresPerJob"] == "gres:gpu:1"
    assert (shown["TimeLimit"], shown["MinMemoryNode"], shown["NumCPUs"]) == ("12:00:00", "2000M", "1")
