"""Sampler benchmark: ddim_eval.sample against diffusers' DDIMScheduler loop on the same network, side by side.

Prints, per (S, batch), seconds per image per step for both and their ratio, plus the loop overhead measured
with a near-free eps model. The network is the paper's CIFAR-10 U-Net (random weights: speed does not depend
on them). Usage: python benchmarks/sampler.py [--device cuda] [--batch 8 256] [--steps 10 50] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import torch
from diffusers_peers import diffusers_sample

from ddim_eval.models import build_unet, eps_model_from_unet, get_model_spec
from ddim_eval.sampling import discrete_grid, make_alphas_cumprod, sample


def best_seconds(fns, device, repeats):
    """Best wall time of each function, the functions interleaved within every repeat so drift hits all alike."""
    def timed(fn):
        start = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    for fn in fns:  # warm-up
        timed(fn)
    times = [[timed(fn) for fn in fns] for _ in range(repeats)]
    return [min(column) for column in zip(*times)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--batch", type=int, nargs="+", default=[8])
    parser.add_argument("--steps", type=int, nargs="+", default=[10])
    parser.add_argument("--eta", type=float, default=1.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=None, help="also write the results as JSON")
    args = parser.parse_args()
    device = torch.device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    unet = build_unet(get_model_spec("cifar10").unet, device=device)
    models = {"cifar10-unet": eps_model_from_unet(unet), "near-free": lambda x, t: x * 0.5}
    rows = []
    print(f"device: {name}, torch {torch.__version__}, fp32, eta={args.eta}")
    print("| model | batch | S | ddim_eval s/img/step | diffusers s/img/step | ratio |")
    print("|---|---|---|---|---|---|")
    with torch.no_grad():
        for model_name, eps_model in models.items():
            for batch in args.batch:
                for S in args.steps:
                    x_T = torch.randn(batch, 3, 32, 32, device=device)
                    g = torch.Generator(device=device).manual_seed(0)
                    grid = discrete_grid(make_alphas_cumprod(), S, "linear")
                    ours, peer = best_seconds([lambda: sample(eps_model, x_T, grid, args.eta, generator=g),
                                               lambda: diffusers_sample(eps_model, x_T, S, args.eta, generator=g)],
                                              device, args.repeats)
                    per = lambda s: s / batch / S  # noqa: E731
                    rows.append(dict(device=name, model=model_name, batch=batch, steps=S, eta=args.eta,
                                     ours_s_per_img_step=per(ours), diffusers_s_per_img_step=per(peer),
                                     ratio=ours / peer))
                    print(f"| {model_name} | {batch} | {S} | {per(ours):.3e} | {per(peer):.3e} | "
                          f"{ours / peer:.3f} |", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
