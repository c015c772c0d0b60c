"""Devices: names checked, GPUs counted, and GPU claims for several jobs on one machine, with lock files standing in
for GPUs and a fake nvidia-smi listing them."""

import os
import subprocess
import sys

import pytest

from ddim_eval.experiment.devices import (
    check_device_name,
    claim_device,
    claim_index,
    release_all,
    resolve_device,
    visible_gpus,
)

from helpers import fake_nvidia_smi


def test_claims_take_free_slots_and_wait_for_one(tmp_path):
    try:
        assert claim_index(2, tmp_path) == 0
        assert claim_index(2, tmp_path) == 1
        waiter = subprocess.Popen([sys.executable, "-c", "from ddim_eval.experiment.devices import claim_index; "
                                   f"print(claim_index(2, {str(tmp_path)!r}, poll=0.05))"],
                                  stdout=subprocess.PIPE, text=True)
        try:
            waiter.wait(timeout=1.0)
            raise AssertionError("the third job got a GPU while both were held")
        except subprocess.TimeoutExpired:
            pass
    finally:
        release_all()
    assert waiter.communicate(timeout=30)[0].strip() in ("0", "1")


def test_a_killed_holder_frees_its_slot(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", "import time; from ddim_eval.experiment.devices import claim_index; "
                               f"print(claim_index(1, {str(tmp_path)!r}), flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "0"
    holder.kill()
    holder.wait()
    try:
        assert claim_index(1, tmp_path, poll=0.05) == 0
    finally:
        release_all()


def test_other_devices_are_left_alone():
    assert claim_device("cpu") == "cpu" and claim_device("cuda:3") == "cuda:3"


@pytest.mark.parametrize("visible, count", [("0,1", 2), ("3", 1), ("", 0), ("-1", 0), ("0,-1,1", 1),
                                            ("GPU-abc,GPU-def", 2)])
def test_visible_gpus_follow_cuda_visible_devices(monkeypatch, visible, count):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", visible)
    assert visible_gpus() == count


def test_visible_gpus_ask_nvidia_smi_else_none(monkeypatch, tmp_path):
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    monkeypatch.setenv("PATH", fake_nvidia_smi(tmp_path, 3))
    assert visible_gpus() == 3
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    assert visible_gpus() == 0


@pytest.mark.parametrize("name", ["cpu", "cuda", "cuda:1", "mps", "auto"])
def test_device_names_allowed(name):
    assert check_device_name(name) == name


@pytest.mark.parametrize("name, message", [
    ("foo", r"device: 'foo' is not a device; allowed: auto, cpu, cuda, cuda:<index>, mps"),
    ("cuda1", r"'cuda1' is not a device \(did you mean 'cuda'\?\)"),
    ("gpu", r"'gpu' is not a device \(did you mean 'cpu'\?\); allowed"),
    (0, r"device: 0 is not a device"),
])
def test_bad_device_names_are_refused(name, message):
    with pytest.raises(ValueError, match=message):
        check_device_name(name)


def test_auto_is_the_cpu_without_cuda():
    import torch

    assert resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")
    assert resolve_device("cpu") == "cpu"


# Six jobs of one second each, each asking for one GPU and claiming one as ddim-eval's jobs do; the GPU count is
# registered as the workflow registers it (common.smk), from the GPUs nvidia-smi lists.
GPU_JOBS = """
from ddim_eval.experiment.devices import visible_gpus
workflow.register_resource("gpu", visible_gpus())
rule all:
    input: expand("job{i}.txt", i=range(6))
rule gpu_job:
    output: "job{i}.txt"
    resources: gpu=1
    shell: "{PYTHON} job.py > {output}"
"""
GPU_JOB = """import time
from ddim_eval.experiment.devices import claim_index, visible_gpus
start = time.time()
gpu = claim_index(visible_gpus(), "locks")
time.sleep(1)
print(start, time.time(), gpu)
"""


@pytest.mark.parametrize("gpus", [1, 2])
def test_a_local_run_never_runs_more_gpu_jobs_than_gpus(tmp_path, gpus):
    (tmp_path / "Snakefile").write_text(f"PYTHON = {sys.executable!r}\n" + GPU_JOBS)
    (tmp_path / "job.py").write_text(GPU_JOB)
    env = os.environ | {"PATH": fake_nvidia_smi(tmp_path, gpus)}
    env.pop("CUDA_VISIBLE_DEVICES", None)
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(tmp_path / "Snakefile"), "-c", "4",
                             "--directory", str(tmp_path)],
                            capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    jobs = [[float(v) for v in (tmp_path / f"job{i}.txt").read_text().split()] for i in range(6)]
    for start, end, _ in jobs:
        together = [g for s, e, g in jobs if s < end and start < e]  # jobs running while this one ran (itself too)
        assert len(together) <= gpus and len(set(together)) == len(together)  # never two on one GPU
    assert len({gpu for _, _, gpu in jobs}) == gpus  # with 4 cores, every GPU was used
