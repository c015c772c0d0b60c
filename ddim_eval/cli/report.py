"""Commands that draw: Figures 3, 5 and 6 of a model, Figure 4 from a run's timing table, and FID over S with its
intervals from a run's Table 1."""

from __future__ import annotations

import argparse
import sys

from ddim_eval.cli.args import add_model_args, network, parse_eta, positive


def _figures(args: argparse.Namespace) -> None:
    from pathlib import Path

    import numpy as np

    from ddim_eval.models.registry import get_model_spec
    from ddim_eval.report import showcase
    from ddim_eval.report.figures import rows_figure, samples_figure, save_figure
    from ddim_eval.report.tables import variant_label

    spec = get_model_spec(args.model)
    net = network(args, spec)
    eps = net.eps
    common = {"spacing": args.spacing or spec.spacing, "device": args.device, "batch_size": net.batch_size}
    alphas, out = spec.alphas_cumprod(), Path(args.out_dir)
    say = lambda what: print(f"{out}: {what}...", file=sys.stderr, flush=True)  # noqa: E731
    say(f"samples ({len(args.sample_steps)} S x {len(args.variants)} variants x {args.n} images)")
    grid = showcase.sample_grid(eps, spec.x_T_name, spec.image_shape, alphas, steps=args.sample_steps,
                                variants=args.variants, n=args.n, **common)
    labels = [variant_label(v) for v in args.variants]
    save_figure(samples_figure(grid, labels, args.sample_steps, f"{spec.name}: samples from one x_T per S and "
                                                                 f"variant ({common['spacing']} tau)"), out / "samples")
    say(f"consistency ({len(args.consistency_steps)} S x {args.consistency_n} rows)")
    images = showcase.consistency(eps, spec.x_T_name, spec.image_shape, alphas, steps=args.consistency_steps,
                                  n=args.consistency_n, **common)
    save_figure(rows_figure(images, [f"S={s}" for s in args.consistency_steps],
                            f"{spec.name}: one x_T per row, eta = 0, decoded with S steps"), out / "consistency")
    say(f"interpolation ({args.pairs} pairs x {args.points} points)")
    images = showcase.interpolation(eps, spec.x_T_name, spec.image_shape, alphas, steps=args.interpolation_steps,
                                    pairs=args.pairs, points=args.points, **common)
    alphas_label = [f"{a:.2g}" for a in np.linspace(0, 1, args.points)]
    save_figure(rows_figure(images, alphas_label, f"{spec.name}: slerp between two x_T, eta = 0, "
                                                  f"S = {args.interpolation_steps}"), out / "interpolation")
    print(f"{out}: samples, consistency, interpolation (.png, .pdf)")


def _table_rows(path: str, columns: tuple[str, ...], what: str) -> list[dict]:
    """The rows of a CSV table; ValueError naming the file when it is empty or lacks a column the figure reads."""
    import csv

    try:
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a CSV table: it is not UTF-8 text; expected {what}") from None
    if not rows:
        raise ValueError(f"{path} holds no rows")
    missing = [c for c in columns if c not in rows[0]]
    if missing:
        raise ValueError(f"{path} has no column(s) {missing}: it is not {what}; its columns: {list(rows[0])}")
    return rows


def _timing_rows(path: str) -> list[dict]:
    """Rows of a run's timing table, or the one row of a `ddim-eval time` record (.json)."""
    import json
    from pathlib import Path

    from ddim_eval.report.figures import TIMING_COLUMNS

    if not path.endswith(".json"):
        return _table_rows(path, TIMING_COLUMNS, "a run's timing table (tables/timing.csv)")
    r = json.loads(Path(path).read_text())
    # A record of `time --nfe` has no S: its network evaluations are the x axis (S is DDIM's NFE).
    steps = r["S"] if r.get("S") is not None else r["network_evals"]
    return [{"dataset": r["model"], "S": steps, "device": r["device"], "fast_path": r["fast_path"],
             "value": r["hours_per_50k"]}]


def _timing_figure(args: argparse.Namespace) -> None:
    from ddim_eval.report.figures import save_figure, timing_figure

    rows = [row for path in args.timings for row in _timing_rows(path)]
    print(*save_figure(timing_figure(rows), args.out_stem))


def _fid_figure(args: argparse.Namespace) -> None:
    from ddim_eval.report.figures import FID_COLUMNS, fid_figure, save_figure

    rows = _table_rows(args.table_csv, FID_COLUMNS, "a FID table (tables/table1.csv or table3.csv of a run)")
    print(*save_figure(fid_figure(rows), args.out_stem))


def _sampler_figure(args: argparse.Namespace) -> None:
    from ddim_eval.report.figures import SAMPLER_COLUMNS, sampler_figure, save_figure
    from ddim_eval.report.sampler_study import PUBLISHED

    published = _table_rows(args.published or str(PUBLISHED), ("dataset", "sampler", "nfe", "value"),
                            "a table of published FIDs (like the packaged published_samplers.csv)")
    rows = _table_rows(args.table_csv, SAMPLER_COLUMNS, "a sampler study's table (tables/samplers.csv of a run)")
    print(*save_figure(sampler_figure(rows, published), args.out_stem))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("figures", help="Figures 3, 5 and 6 of a model: samples per S and variant, consistency "
                       "over S, slerp interpolation (PNG and PDF)")
    p.add_argument("model")
    p.add_argument("out_dir")
    p.add_argument("--sample-steps", type=int, nargs="+", default=[10, 20, 50, 100])
    p.add_argument("--variants", type=parse_eta, nargs="+", default=[0.0, 1.0, "sigma_hat"])
    p.add_argument("--n", type=positive, default=16, help="samples per panel of the samples figure")
    p.add_argument("--consistency-steps", type=int, nargs="+", default=[10, 20, 50, 100, 1000])
    p.add_argument("--consistency-n", type=int, default=8, help="rows (x_T) of the consistency figure")
    p.add_argument("--interpolation-steps", type=int, default=50)
    p.add_argument("--pairs", type=int, default=4, help="rows (x_T pairs) of the interpolation figure")
    p.add_argument("--points", type=int, default=11, help="interpolation points from 0 to 1")
    add_model_args(p)
    p.set_defaults(func=_figures)

    p = sub.add_parser("timing-figure", help="Figure 4 from a run's timing table or `ddim-eval time` records (PNG "
                       "and PDF)")
    p.add_argument("timings", nargs="+", help="tables/timing.csv of a run, and/or records of `ddim-eval time` (.json)")
    p.add_argument("out_stem", help="output path without extension")
    p.set_defaults(func=_timing_figure)

    p = sub.add_parser("fid-figure", help="FID over S with interval error bars, from a run's Table 1 (PNG and PDF)")
    p.add_argument("table_csv", help="tables/table1.csv (or table3.csv) of a run")
    p.add_argument("out_stem", help="output path without extension")
    p.set_defaults(func=_fid_figure)

    p = sub.add_parser("sampler-figure", help="FID against NFE per sampler with interval error bars, from a run's "
                       "sampler study, published numbers beside (PNG and PDF)")
    p.add_argument("table_csv", help="tables/samplers.csv of a run")
    p.add_argument("out_stem", help="output path without extension")
    p.add_argument("--published", default=None, help="published numbers (default: the packaged "
                   "published_samplers.csv)")
    p.set_defaults(func=_sampler_figure)
