"""What each fast setting does to the samples and to FID: `fast_path_check` over settings x S x eta, one model.

For every setting it samples the same x_T (and per-batch noise) in strict fp32 and in the setting, and reports the
per-image max |x_0 difference|, the share of uint8 pixels that differ, and the FID shift with its paired 95%
interval beside the FID's own interval half-width (the noise of a table entry at this n).
The digits model scores with its digits-cnn features against the train split (offline).

Usage: python benchmarks/precision_shift.py [--device cuda] [--settings bf16 fp16 fp32+compile] [--steps 10 100]
       [--eta 0 1] [--n 3000] [--out benchmarks/results/precision_digits_<device>.json]
"""

from __future__ import annotations

import argparse
import platform

import torch

from ddim_eval.data.arrays import load_images
from ddim_eval.data.digits import load as load_digits
from ddim_eval.experiment.fast_path_check import fast_path_check
from ddim_eval.io import save_json
from ddim_eval.metrics.extractors import load_extractor
from ddim_eval.metrics.features import batches, extract
from ddim_eval.models.checkpoints import load_unet
from ddim_eval.models.fastpath import FastPath, fast_eps_model
from ddim_eval.models.registry import get_model_spec
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry
from ddim_eval.wallclock import device_name


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--settings", nargs="+", default=["bf16", "fp16", "fp32+channels_last", "fp32+compile"])
    parser.add_argument("--steps", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--eta", type=float, nargs="+", default=[0.0, 1.0])
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--reference", default=None, help="reference split (.npy); default: digits train")
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    spec = get_model_spec("digits")
    extractor = load_extractor("digits-cnn", device=args.device)
    images = load_images(args.reference) if args.reference else load_digits("train")[0]
    _, ref_stats = extract(extractor, batches(images, 500), progress=False)
    reference, _, _ = fast_eps_model(load_unet(spec, device=args.device), FastPath())
    rows = []
    print(f"digits DDPM on {device_name(args.device)}, torch {torch.__version__}, n = {args.n} per setting")
    print("| setting | S | eta | max abs x0 diff | median | uint8 pixels differ | FID fp32 [95%] | FID shift "
          "[paired 95%] | FID noise (half-width) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for label in args.settings:
        fast, applied, notes = fast_eps_model(load_unet(spec, device=args.device), FastPath.from_label(label),
                                              batch_size=args.batch_size)
        for S in args.steps:
            for eta in args.eta:
                r = fast_path_check(reference, fast, spec.name, shape=spec.image_shape,
                                    run=prepare(paper_entry(eta), S, spec.alphas_cumprod(), spec.spacing),
                                    n=args.n, shard=0, extractor=extractor,
                                    ref_stats=ref_stats, batch_size=args.batch_size, device=args.device,
                                    progress=False)
                rows.append({"setting": label, "applied": applied.label, "notes": notes, "S": S,
                             "device": device_name(args.device), "platform": platform.processor()} | r)
                print(f"| {applied.label} | {S} | {eta:g} | {r['max_abs_x0_difference']:.3g} | "
                      f"{r['median_max_abs_x0_difference']:.3g} | {r['share_pixels_differ']:.2%} | "
                      f"{r['fid_reference']:.3f} [{r['fid_reference_ci_low']:.3f}, {r['fid_reference_ci_high']:.3f}] | "
                      f"{r['fid_shift']:+.3f} [{r['fid_shift_ci_low']:+.3f}, {r['fid_shift_ci_high']:+.3f}]"
                      f"{' *' if r['fid_shift_significant'] else ''} | {r['fid_noise_half_width']:.3f} |", flush=True)
                if args.out:  # after every row: a long run stopped midway keeps what it measured
                    save_json(args.out, {"rows": rows})


if __name__ == "__main__":
    main()
