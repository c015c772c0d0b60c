"""GPU dress rehearsal: the paper's sample -> Inception features -> statistics -> FID path through Snakemake, on a
GPU, offline, with every weight random (config/gpu-rehearsal.yaml). Records each job's wall time (from Snakemake's
benchmark files) and the GPU's utilisation and memory while the run lasts (nvidia-smi, every 0.5 s).

It first makes what the config points at: a CIFAR-like split (smooth random 32x32 RGB images, seeded) and
torch-fidelity's Inception with random weights saved as a plain state dict (the real weights need internet; the
cost of a forward pass does not depend on them). The numbers the run produces mean nothing; its timings do.

Usage: python benchmarks/gpu_rehearsal.py [--train 10000] [--test 1000] [--fast-path bf16+channels_last+compile]
       [--out benchmarks/results/gpu_rehearsal_<device>.json] [-- extra snakemake arguments]
On a machine without a GPU, `--overrides tiny.yaml -- --config device=cpu` runs the same DAG on the CPU (slowly:
use small splits and a smaller grid in tiny.yaml).
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from ddim_eval.data.arrays import save_images
from ddim_eval.io import save_json
from ddim_eval.metrics.extractors import save_random_inception
from ddim_eval.models.fastpath import FastPath

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config/gpu-rehearsal.yaml"


def cifar_like(n: int, seed: int) -> np.ndarray:
    """n smooth random RGB 32x32 uint8 images (noise at 8x8, upsampled), so features are not those of white noise."""
    g = torch.Generator().manual_seed(seed)
    coarse = torch.rand(n, 3, 8, 8, generator=g)
    return (F.interpolate(coarse, size=32, mode="bilinear", align_corners=False) * 255).round().byte().numpy()


def job_times(run_dir: Path) -> dict[str, dict]:
    """Per rule: job count and wall seconds (total, mean, max), from Snakemake's benchmark files."""
    times: dict[str, list[float]] = {}
    for tsv in sorted((run_dir / "benchmarks").rglob("*.tsv")):
        rule = tsv.relative_to(run_dir / "benchmarks").parts[0]
        with open(tsv) as f:
            times.setdefault(rule, []).extend(float(row["s"]) for row in csv.DictReader(f, delimiter="\t"))
    return {rule: {"jobs": len(s), "seconds_total": sum(s), "seconds_mean": statistics.mean(s),
                   "seconds_max": max(s)} for rule, s in times.items()}


def gpu_use(log: Path) -> dict | None:
    """Mean and median GPU utilisation (%) and the peak memory (MiB) over the run, from nvidia-smi's samples."""
    if not log.is_file():
        return None
    rows = [line.split(",") for line in log.read_text().splitlines() if line.strip()]
    util = [float(r[0]) for r in rows]
    return {"samples": len(rows), "interval_s": 0.5, "utilization_mean_percent": statistics.mean(util),
            "utilization_median_percent": statistics.median(util),
            "share_of_time_above_50_percent": sum(u > 50 for u in util) / len(util),
            "memory_peak_mib": max(float(r[1]) for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train", type=int, default=10000, help="images in the CIFAR-like reference split")
    parser.add_argument("--test", type=int, default=1000, help="images in the split Table 2 reconstructs")
    parser.add_argument("--fast-path", default=None, help="e.g. bf16+channels_last+compile (default: fp32)")
    parser.add_argument("--overrides", nargs="+", default=[], help="config files merged over the rehearsal's")
    parser.add_argument("--out", default=None)
    parser.add_argument("snakemake_args", nargs="*", help="after --: passed on to snakemake")
    args = parser.parse_args()
    config = yaml.safe_load(CONFIG.read_text())
    data = Path("resources/cifar10_rehearsal")
    save_images(data / "train.npy", cifar_like(args.train, 0))
    save_images(data / "test.npy", cifar_like(args.test, 1))
    save_random_inception(config["extractor"]["weights_path"])
    extra = list(args.overrides)
    if args.fast_path:
        fast = vars(FastPath.from_label(args.fast_path))
        Path("resources/rehearsal").mkdir(parents=True, exist_ok=True)
        Path("resources/rehearsal/fast_path.yaml").write_text(yaml.safe_dump({"fast_path": fast}))
        extra.append("resources/rehearsal/fast_path.yaml")
    run_dir = Path("results") / config["run"]
    smi_log = run_dir / "gpu_use.csv"
    run_dir.mkdir(parents=True, exist_ok=True)
    smi = None
    if shutil.which("nvidia-smi"):
        smi = subprocess.Popen(["nvidia-smi", "--query-gpu=utilization.gpu,memory.used", "--format=csv,noheader,"
                                "nounits", "-lms", "500"], stdout=open(smi_log, "w"))
    start = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "snakemake", "-s", str(ROOT / "workflow/Snakefile"), "-c", "all",
                             "--configfile", str(CONFIG), *extra, *args.snakemake_args])
    wall = time.perf_counter() - start
    if smi:
        smi.terminate()
        smi.wait()
    if result.returncode:
        raise SystemExit(f"the rehearsal's snakemake run failed (exit {result.returncode}); see its logs")
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    record = {"device": device, "torch": torch.__version__, "fast_path": args.fast_path or "fp32",
              "wall_seconds": wall, "jobs": job_times(run_dir), "gpu": gpu_use(smi_log)}
    print(f"{device}: the rehearsal took {wall:.0f} s")
    print("| rule | jobs | wall s total | mean | max |\n|---|---|---|---|---|")
    for rule, t in record["jobs"].items():
        print(f"| {rule} | {t['jobs']} | {t['seconds_total']:.1f} | {t['seconds_mean']:.1f} | {t['seconds_max']:.1f} |")
    if record["gpu"]:
        g = record["gpu"]
        print(f"GPU utilisation: mean {g['utilization_mean_percent']:.0f}%, median "
              f"{g['utilization_median_percent']:.0f}%, above 50% for {g['share_of_time_above_50_percent']:.0%} "
              f"of the run; peak memory {g['memory_peak_mib']:.0f} MiB")
    if args.out:
        save_json(args.out, record)


if __name__ == "__main__":
    main()
