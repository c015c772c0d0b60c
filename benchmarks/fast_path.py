"""Fast-path benchmark: the paper's networks sampled with DDIM (eta = 0) in each setting, side by side in one run.

Rows, per network and batch: diffusers' DDIMScheduler loop in fp32 eager (what a user would write instead), ours in
strict fp32 eager, then tf32 (CUDA), + channels_last, + bf16 / fp16 (autocast), + torch.compile, + CUDA graphs
(CUDA). Columns: images/s, s per image per step, the speed-up over ours fp32 eager, MFU and peak memory (CUDA).
The networks have random weights: speed does not depend on them. FLOPs per image-forward are counted once with
torch's FlopCounterMode; MFU divides the achieved FLOP/s by the device's dense bf16 peak (CUDA, from the vendor's
data sheet) or by the measured fp32 matmul peak (CPU).

Usage: python benchmarks/fast_path.py [--device cuda] [--networks cifar10 celeba lsun_church lsun_bedroom]
       [--batch 256] [--steps 10] [--rows ...] [--out benchmarks/results/fast_path_<device>.json]
"""

from __future__ import annotations

import argparse
import time

import torch
from diffusers import UNet2DModel
from diffusers_peers import diffusers_sample
from torch.utils.flop_counter import FlopCounterMode

from ddim_eval.io import save_json
from ddim_eval.models.fastpath import FastPath, fast_eps_model
from ddim_eval.models.registry import get_model_spec
from ddim_eval.sampling import discrete_grid, sample
from ddim_eval.wallclock import best_wall_time, device_name

# Dense (no sparsity) bf16 tensor-core peaks, FLOP/s, from the vendors' data sheets.
BF16_PEAK = {"H100 80GB HBM3": 989e12, "H100 PCIe": 756e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12,
             "RTX 4090": 165e12, "RTX 2080 Ti": 53.8e12}
ROWS = {
    "diffusers fp32 eager": None,
    "fp32 eager": FastPath(),
    "tf32": FastPath("tf32"),
    "+ channels_last": FastPath(channels_last=True),
    "+ bf16": FastPath("bf16", channels_last=True),
    "+ fp16": FastPath("fp16", channels_last=True),
    "+ bf16 + compile": FastPath("bf16", channels_last=True, compile=True),
    "+ bf16 + compile + CUDA graphs": FastPath("bf16", channels_last=True, compile=True, cuda_graphs=True),
}
CUDA_ONLY = {"tf32", "+ bf16 + compile + CUDA graphs"}


def peak_flops(device: torch.device) -> tuple[float | None, str]:
    """The denominator of MFU and what it is."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        for key, peak in BF16_PEAK.items():
            if key in name:
                return peak, f"dense bf16 peak of {key} (data sheet)"
        return None, f"no data-sheet peak known for {name}"
    a = torch.randn(2048, 2048)
    a @ a
    start = time.perf_counter()
    for _ in range(5):
        a @ a
    return 5 * 2 * 2048**3 / (time.perf_counter() - start), "measured fp32 matmul peak (2048^3 sgemm)"


def flops_per_image(unet: torch.nn.Module, shape: tuple[int, ...], device: torch.device) -> float:
    x, t = torch.randn(1, *shape, device=device), torch.full((1,), 500, device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        unet(x, t)
    return float(counter.get_total_flops())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--networks", nargs="+", default=["cifar10", "celeba", "lsun_church", "lsun_bedroom"])
    parser.add_argument("--batch", type=int, nargs="+", default=[256], help="batch sizes")
    parser.add_argument("--batch-256", type=int, nargs="+", default=None, help="batch sizes of the 256x256 networks")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", nargs="+", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    device = torch.device(args.device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    peak, peak_note = peak_flops(device)
    rows = [r for r in args.rows if device.type == "cuda" or r not in CUDA_ONLY]
    if "fp32 eager" not in rows:
        rows.insert(0, "fp32 eager")  # the baseline of every speed-up
    print(f"{device_name(device)}, torch {torch.__version__}, DDIM eta = 0, S = {args.steps}; "
          f"MFU against the {peak_note}")
    print("| network | batch | setting | images/s | s per image per step | speed-up | MFU | peak memory GiB |")
    print("|---|---|---|---|---|---|---|---|")
    results = []
    for name in args.networks:
        spec = get_model_spec(name)
        flops = flops_per_image(UNet2DModel(**spec.unet_config()).to(device), spec.image_shape, device)
        batches = args.batch_256 if spec.image_shape[-1] >= 256 and args.batch_256 else args.batch
        grid = discrete_grid(spec.alphas_cumprod(), args.steps, "linear")
        for batch in batches:
            x_T = torch.randn(batch, *spec.image_shape, generator=torch.Generator().manual_seed(0)).to(device)
            measured = []
            for row in rows:
                torch.manual_seed(0)
                unet = UNet2DModel(**spec.unet_config()).to(device)  # fresh: the fast path changes its format
                eps, applied, notes = fast_eps_model(unet, ROWS[row] or FastPath(), batch_size=batch, device=device)
                if device.type == "cuda":
                    torch.cuda.reset_peak_memory_stats(device)
                def run(eps=eps, diffusers=ROWS[row] is None):
                    with torch.no_grad():
                        return diffusers_sample(eps, x_T, args.steps, 0.0) if diffusers else sample(eps, x_T, grid, 0.0)

                seconds = best_wall_time(run, device, warmup=1, repeats=args.repeats)
                rate = batch / seconds
                measured.append({
                    "device": device_name(device), "torch": torch.__version__, "network": name, "batch": batch,
                    "steps": args.steps, "setting": row, "applied": applied.label, "notes": notes,
                    "images_per_second": rate, "seconds_per_image_per_step": seconds / batch / args.steps,
                    "gflop_per_image_forward": flops / 1e9, "mfu": flops * rate * args.steps / peak if peak else None,
                    "mfu_basis": peak_note, "peak_memory_gib": (torch.cuda.max_memory_allocated(device) / 2**30
                                                                if device.type == "cuda" else None)})
                del unet, eps, run
            baseline = next(r["images_per_second"] for r in measured if r["setting"] == "fp32 eager")
            for r in measured:
                r["speedup_vs_fp32_eager"] = r["images_per_second"] / baseline
                mfu = f"{r['mfu']:.1%}" if r["mfu"] is not None else "-"
                memory = f"{r['peak_memory_gib']:.2f}" if r["peak_memory_gib"] is not None else "-"
                print(f"| {name} | {batch} | {r['setting']} | {r['images_per_second']:.4g} | "
                      f"{r['seconds_per_image_per_step']:.3e} | {r['speedup_vs_fp32_eager']:.2f}x | {mfu} | {memory} |",
                      flush=True)
            results += measured
    if args.out:
        save_json(args.out, {"rows": results})


if __name__ == "__main__":
    main()
