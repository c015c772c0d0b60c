"""benchmarks/gpu_campaign.py --tiny: every part of the GPU campaign runs on the CPU at toy sizes and writes its
files, so the script is known to work before any GPU time is spent."""

import json
import subprocess
import sys

from helpers import ROOT


def test_the_tiny_campaign_runs_every_part_and_writes_its_files(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu_campaign.py"), "--tiny", "--results",
                           str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads((tmp_path / "gpu_campaign_tiny-cpu.json").read_text())
    assert [(p["part"], p["outcome"]) for p in summary["parts"]] == [
        (part, "ok") for part in ("gpu-tests", "fast-path", "precision", "figure4", "sampler", "rehearsal")]
    written = {f for p in summary["parts"] for f in p["files"]}
    assert {"fast_path_tiny-cpu.json", "precision_cifar10_tiny-cpu.json", "figure4_tiny-cpu/figure4.png",
            "sampler_tiny-cpu.json", "gpu_rehearsal_tiny-cpu.json"} <= written
    precision = json.loads((tmp_path / "precision_cifar10_tiny-cpu.json").read_text())
    assert precision["n"] == 4 and "fid_shift" in precision
    assert "skipped" in (tmp_path / "gpu_campaign_tiny-cpu/gpu-tests.log").read_text()  # no CUDA here


def test_a_budget_spent_leaves_the_remaining_parts_unrun_and_says_so(tmp_path):
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks/gpu_campaign.py"), "--tiny", "--budget", "5",
                           "--only", "sampler", "--results", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "gpu_campaign_tiny-cpu.json").read_text())
    assert summary["parts"] == [{"part": "sampler", "outcome": "not run: the budget was spent", "seconds": 0.0,
                                 "files": []}]
