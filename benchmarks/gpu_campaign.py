"""Everything that still needs a GPU, in one command that fits a short GPU window: each part in priority order, with
its own time cap, writing its results under benchmarks/results/ (the device named) as soon as it finishes, so a run
cut short keeps what finished. A summary of the parts (command, seconds, outcome, files) is rewritten after each one.

Parts, in priority order (full mode: the caps sum to 8 minutes; not yet run on a GPU):
  gpu-tests   pytest -m gpu (sampling without host syncs, CUDA against CPU in float64, fast paths)
  fast-path   benchmarks/fast_path.py: strict fp32 eager against the fast settings, CIFAR-10 and CelebA networks
  precision   ddim-eval fast-path-check on the CIFAR-10 architecture (random weights, random Inception): how far
              bf16 + channels_last + compile moves the samples from strict fp32, and the FID shift it makes
  figure4     ddim-eval time over S for CIFAR-10 and LSUN bedroom (random weights), drawn as Figure 4
  sampler     benchmarks/sampler.py: our DDIM loop against diffusers' on the same network
  rehearsal   benchmarks/gpu_rehearsal.py: the paper's path through Snakemake on the GPU (if time is left)

`--tiny` runs the same parts on the CPU at toy sizes (the tests run it): every command, file and figure is made,
none of the numbers mean anything. `--only` runs some parts; `--budget` caps the whole run.

Usage: python benchmarks/gpu_campaign.py [--tiny] [--budget 480] [--only fast-path figure4] [--results DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from ddim_eval.data.arrays import save_images
from ddim_eval.io import save_json
from ddim_eval.metrics.extractors import save_random_inception
from ddim_eval.wallclock import device_name

from gpu_rehearsal import cifar_like

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"
CLI = [sys.executable, "-m", "ddim_eval.cli"]


@dataclass(frozen=True)
class Sizes:
    """How big each part runs: the GPU campaign's sizes, or toy ones for the CPU."""

    device: str
    batch: int              # images per batch in the fast-path, precision and timing parts
    steps: int              # S of the fast-path rows and the precision check
    fast_rows: tuple[str, ...]
    precision: tuple[str, ...]  # the fast setting the precision check compares with strict fp32 (and its options)
    precision_n: int        # images per setting in the precision check
    reference_n: int        # images in the CIFAR-like reference of the precision check
    figure4_networks: tuple[str, ...]
    figure4_steps: tuple[int, ...]
    bedroom_batch: int
    sampler_batches: tuple[int, ...]
    rehearsal: tuple[str, ...]  # extra arguments of gpu_rehearsal.py
    caps: dict[str, int]    # seconds per part


GPU = Sizes("cuda", 256, 10, ("diffusers fp32 eager", "fp32 eager", "tf32", "+ bf16", "+ bf16 + compile",
                               "+ bf16 + compile + CUDA graphs"),
            ("--precision", "bf16", "--channels-last", "--compile"), 2000, 10000, ("cifar10", "lsun_bedroom"),
            (10, 20, 50, 100), 16, (8, 256), (),
            {"gpu-tests": 90, "fast-path": 120, "precision": 75, "figure4": 90, "sampler": 45, "rehearsal": 60})
# On the CPU, torch.compile takes a minute, bf16 minutes (no native bf16 here) and the bedroom network seconds per
# image-step: the tiny run leaves them out. Its caps only stop a hung part.
TINY = Sizes("cpu", 1, 2, ("fp32 eager", "+ channels_last"), ("--channels-last", "--n-boot", "2"), 4, 8,
             ("cifar10",), (1, 2), 1, (2,),
             ("--train", "16", "--test", "4", "--overrides", str(BENCHMARKS / "gpu_campaign_tiny.yaml"), "--",
              "--config", "device=cpu"), dict.fromkeys(
                 ("gpu-tests", "fast-path", "precision", "figure4", "sampler", "rehearsal"), 300))


def parts(sizes: Sizes, results: Path, tag: str, work: Path) -> dict[str, tuple[list[list[str]], list[Path]]]:
    """Each part: (its commands, the files it writes)."""
    d, b = sizes.device, str(sizes.batch)
    random_inception, reference = work / "inception-random.pth", work / "cifar-like-reference"
    figure4 = results / f"figure4_{tag}"
    timed = {(net, S): figure4 / f"{net}_S{S}.json" for net in sizes.figure4_networks for S in sizes.figure4_steps}
    timings = list(timed.values())
    return {
        "gpu-tests": ([[sys.executable, "-m", "pytest", "-m", "gpu", "-q", "-p", "no:cacheprovider",
                            str(ROOT / "tests/test_gpu.py")]], [results / f"gpu_campaign_{tag}/gpu-tests.log"]),
        "fast-path": ([[sys.executable, str(BENCHMARKS / "fast_path.py"), "--device", d, "--networks", "cifar10",
                             "celeba", "--batch", b, "--steps", str(sizes.steps), "--repeats", "2",
                             "--rows", *sizes.fast_rows, "--out", str(results / f"fast_path_{tag}.json")]],
                      [results / f"fast_path_{tag}.json"]),
        "precision": ([
            [*CLI, "reference-stats", str(work / "cifar-like.npy"), str(reference), "--extractor",
             "inception-v3-compat", "--weights-path", str(random_inception), "--device", d, "--batch-size", b],
            [*CLI, "fast-path-check", "cifar10", str(reference / "stats.npz"), "--random-weights",
             "--nfe", str(sizes.steps), "--n", str(sizes.precision_n), *sizes.precision,
             "--extractor", "inception-v3-compat", "--weights-path", str(random_inception), "--device", d,
             "--batch-size", b, "--out", str(results / f"precision_cifar10_{tag}.json")]],
            [results / f"precision_cifar10_{tag}.json"]),
        "figure4": ([
            *([*CLI, "time", net, str(out), "--random-weights", "--nfe", str(S), "--device", d,
               "--batch-size", str(sizes.bedroom_batch if net == "lsun_bedroom" else sizes.batch), "--repeats", "2"]
              for (net, S), out in timed.items()),
            [*CLI, "timing-figure", *map(str, timings), str(figure4 / "figure4")]],
            [*timings, figure4 / "figure4.png"]),
        "sampler": ([[sys.executable, str(BENCHMARKS / "sampler.py"), "--device", d,
                          "--batch", *map(str, sizes.sampler_batches), "--steps", str(sizes.steps), "--repeats", "2",
                          "--out", str(results / f"sampler_{tag}.json")]], [results / f"sampler_{tag}.json"]),
        "rehearsal": ([[sys.executable, str(BENCHMARKS / "gpu_rehearsal.py"), "--out",
                            str(results / f"gpu_rehearsal_{tag}.json"), *sizes.rehearsal]],
                      [results / f"gpu_rehearsal_{tag}.json"]),
    }


def prepare(sizes: Sizes, work: Path) -> None:
    """What the precision check reads: a CIFAR-like split and torch-fidelity's Inception with random weights (the
    real weights need internet; the GPU machine has none)."""
    work.mkdir(parents=True, exist_ok=True)
    save_images(work / "cifar-like.npy", cifar_like(sizes.reference_n, seed=0))
    save_random_inception(work / "inception-random.pth")


def run_part(commands: list[list[str]], cap: float, log: Path, work: Path) -> tuple[str, float]:
    """Run a part's commands in order, in `work`, within `cap` seconds, their output going to `log`."""
    start = time.monotonic()
    with open(log, "w") as out:
        for command in commands:
            left = cap - (time.monotonic() - start)
            out.write(f"$ {' '.join(command)}\n")
            out.flush()
            try:
                done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, timeout=max(left, 1), cwd=work)
            except subprocess.TimeoutExpired:
                return f"cut at its cap of {cap:.0f} s", time.monotonic() - start
            if done.returncode:
                return f"failed (exit {done.returncode}; see {log.name})", time.monotonic() - start
    return "ok", time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tiny", action="store_true", help="toy sizes on the CPU: the tests' run of the campaign")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds for the whole campaign (default: the sum of the parts' caps: 480 on a GPU)")
    parser.add_argument("--only", nargs="+", default=None, help="run these parts only")
    parser.add_argument("--results", type=Path, default=BENCHMARKS / "results")
    args = parser.parse_args()
    sizes = TINY if args.tiny else GPU
    if sizes.device == "cuda" and not torch.cuda.is_available():
        parser.error("no CUDA device here: the campaign is for a GPU (--tiny runs it on the CPU at toy sizes)")
    device = device_name(sizes.device)
    tag = "tiny-cpu" if args.tiny else device.lower().replace("nvidia ", "nvidia-").split()[0]
    logs = args.results / f"gpu_campaign_{tag}"  # each part's output
    # The inputs the campaign makes and the rehearsal's workflow run (resources/, results/) are not results.
    work = Path(tempfile.mkdtemp(prefix="gpu-campaign-"))
    plan = parts(sizes, args.results, tag, work)
    unknown = sorted(set(args.only or ()) - set(plan))
    if unknown:
        parser.error(f"unknown part(s) {unknown}; the parts: {list(plan)}")
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"figure4_{tag}").mkdir(exist_ok=True)
    logs.mkdir(exist_ok=True)
    prepare(sizes, work)
    budget = args.budget or sum(sizes.caps.values())
    summary = {"device": device, "torch": torch.__version__, "tiny": args.tiny, "budget_s": budget, "parts": []}
    summary_path = args.results / f"gpu_campaign_{tag}.json"
    start = time.monotonic()
    for name, (commands, files) in plan.items():
        cap = sizes.caps[name]
        if args.only and name not in args.only:
            continue
        left = budget - (time.monotonic() - start)
        if left < 10:
            outcome, seconds = "not run: the budget was spent", 0.0
        else:
            print(f"{name}: up to {min(cap, left):.0f} s", flush=True)
            outcome, seconds = run_part(commands, min(cap, left), logs / f"{name}.log", work)
        summary["parts"].append({"part": name, "outcome": outcome, "seconds": round(seconds, 1),
                                 "files": [str(f.relative_to(args.results)) for f in files if f.exists()]})
        save_json(summary_path, summary)  # after every part: a run cut short keeps what finished
        print(f"{name}: {outcome} in {seconds:.0f} s", flush=True)
    shutil.rmtree(work)
    print(f"{summary_path}: {sum(p['outcome'] == 'ok' for p in summary['parts'])} of {len(summary['parts'])} "
          f"parts ok on {device} in {time.monotonic() - start:.0f} s")


if __name__ == "__main__":
    main()
