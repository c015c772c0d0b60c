"""Rendering the paper's figures with matplotlib: Figure 4 (hours to sample 50k images against S, beside the
paper's 2080 Ti figures) and image mosaics for Figures 3, 5 and 6. Each figure is saved as PNG and PDF."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; no display on cluster nodes

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib import ticker  # noqa: E402

from ddim_eval.io import atomic_path  # noqa: E402
from ddim_eval.metrics.stats import INCEPTION  # noqa: E402

# The paper's text (Section 1 and Figure 4): 1000-step DDPM sampling of 50k images on one RTX 2080 Ti takes about
# 20 hours at 32x32 and nearly 1000 hours at 256x256, and time grows linearly with the number of steps.
PAPER_ANCHORS = (("paper: 32x32 on a 2080 Ti", 20.0), ("paper: 256x256 on a 2080 Ti", 1000.0))
ANCHOR_STEPS = 1000
FORMATS = ("png", "pdf")
# The columns each figure reads from its table (tables/timing.csv, table1.csv or table3.csv, samplers.csv).
TIMING_COLUMNS = ("dataset", "S", "device", "fast_path", "value")
FID_COLUMNS = ("dataset", "S", "variant", "metric", "value", "ci_low", "ci_high", "extractor", "n", "n_boot",
               "ci_level")
SAMPLER_COLUMNS = ("dataset", "sampler", "title", "nfe", "metric", "value", "ci_low", "ci_high", "extractor", "n",
                   "n_boot", "ci_level")


def save_figure(fig: plt.Figure, stem: str | os.PathLike) -> list[Path]:
    """Write `fig` to `<stem>.png` and `<stem>.pdf`, each atomically, and close it."""
    paths = []
    for fmt in FORMATS:
        path = Path(f"{stem}.{fmt}")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format=fmt, dpi=150, bbox_inches="tight")
        paths.append(path)
    plt.close(fig)
    return paths


def plain_log_ticks(ax: plt.Axes, xticks: Sequence[float] = ()) -> None:
    """Tick labels of `ax`'s log axes as plain numbers (5, 20, 100), not matplotlib's default 5x10^0; with `xticks`
    (the S or NFE values measured), the x axis is labelled at exactly those."""
    for axis, scale in ((ax.xaxis, ax.get_xscale()), (ax.yaxis, ax.get_yscale())):
        if scale == "log":
            axis.set_major_formatter(ticker.LogFormatter())
            axis.set_minor_formatter(ticker.LogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))
    if xticks:
        ax.set_xticks(sorted(set(xticks)))
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())


def timing_figure(rows: Sequence[dict]) -> plt.Figure:
    """Hours per 50k images against S: a line per (dataset, device, fast path) through the timing table's rows
    (dataset, S, device, fast_path, value = hours per 50k), and the paper's 2080 Ti anchors as dashed lines."""
    fig, ax = plt.subplots(figsize=(6, 4))
    lines: dict[tuple[str, str, str], list[tuple[int, float]]] = {}
    for r in rows:
        lines.setdefault((r["dataset"], r["device"], r["fast_path"]), []).append((int(r["S"]), float(r["value"])))
    steps = sorted({s for points in lines.values() for s, _ in points} | {10, ANCHOR_STEPS})
    for label, hours in PAPER_ANCHORS:
        ax.plot(steps, [hours * s / ANCHOR_STEPS for s in steps], "--", color="gray", alpha=0.7)
        ax.annotate(label, (steps[-1], hours), fontsize=7, color="gray", ha="right", va="bottom")
    for (dataset, device, fast_path), points in sorted(lines.items()):
        ax.plot(*zip(*sorted(points)), "o-", label=f"{dataset}, measured on {device}, {fast_path}")
    ax.set(xscale="log", yscale="log", xlabel="sampling steps S", ylabel="hours to sample 50,000 images",
           title="Sampling time (Figure 4)")
    plain_log_ticks(ax)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="upper left")
    return fig


def _interval_lines(ax: plt.Axes, rows: Sequence[dict], line: str, x: str, label: Callable[[dict], str], *,
                    offset: float) -> None:
    """A line per value of row[line] over row[x], the rows' intervals (ci_low, ci_high) as error bars; the lines
    are offset by factors of `offset` on the log x axis, which keeps overlapping bars apart."""
    for i, key in enumerate(dict.fromkeys(r[line] for r in rows)):
        mine = [r for r in rows if r[line] == key]
        points = sorted((int(r[x]), float(r["value"]), float(r["ci_low"] or "nan"), float(r["ci_high"] or "nan"))
                        for r in mine)
        xs, values, lows, highs = map(np.array, zip(*points))
        ax.errorbar(xs * offset**i, values, yerr=[values - lows, highs - values], fmt="o-", capsize=3, markersize=4,
                    label=label(mine[0]))


def fid_figure(rows: Sequence[dict]) -> plt.Figure:
    """FID against S with its interval as error bars: a panel per dataset, a line per variant, from a FID table's
    rows (dataset, S, variant, metric, value, ci_low, ci_high; only metric "fid" is drawn)."""
    rows = [r for r in rows if r["metric"] == "fid"]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5 * len(datasets), 3.8), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        mine = [r for r in rows if r["dataset"] == dataset]
        _interval_lines(ax, mine, "variant", "S", lambda r: r["variant"], offset=1.03)
        ax.set(xscale="log", xlabel="sampling steps S", ylabel=f"FID ({mine[0]['extractor']})", title=dataset)
        plain_log_ticks(ax, [int(r["S"]) for r in mine])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    level = rows[0].get("ci_level") or ""
    fig.suptitle(f"FID over S; bars: {float(level):.0%} bootstrap intervals over the generated samples (n = "
                 f"{rows[0]['n']}, {rows[0]['n_boot']} resamples)" if level else "FID over S", fontsize=9)
    fig.tight_layout()
    return fig


def sampler_figure(rows: Sequence[dict], published: Sequence[dict] = ()) -> plt.Figure:
    """FID against NFE (log x) with its interval as error bars: a panel per dataset, a line per sampler, from the
    sampler study's rows; published FIDs of the same dataset (published_samplers.csv rows) as open markers."""
    rows = [r for r in rows if r["metric"] == "fid"]
    datasets = list(dict.fromkeys(r["dataset"] for r in rows))
    fig, axes = plt.subplots(1, len(datasets), figsize=(5.5 * len(datasets), 4.2), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        mine = [r for r in rows if r["dataset"] == dataset]
        _interval_lines(ax, mine, "sampler", "nfe", lambda r: f"{r['title']} [{r['sampler']}]", offset=1.02)
        for r in (p for p in published if p["dataset"] == dataset and mine[0]["extractor"] == INCEPTION):
            ax.plot(float(r["nfe"]), float(r["value"]), "s", mfc="none", color="black", markersize=6)
            ax.annotate(f"{r['sampler']} (published)", (float(r["nfe"]), float(r["value"])), fontsize=6,
                        xytext=(4, 2), textcoords="offset points")
        # FID spans orders of magnitude at few evaluations: both axes logarithmic.
        ax.set(xscale="log", xlabel="network evaluations (NFE)", ylabel=f"FID ({mine[0]['extractor']})",
               title=dataset)
        ax.set_yscale("log", nonpositive="clip")
        plain_log_ticks(ax, [int(r["nfe"]) for r in mine])
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=6)
    r = rows[0]
    fig.suptitle(f"FID against NFE, every cell from the same x_T; bars: {float(r['ci_level']):.0%} bootstrap "
                 f"intervals (n = {r['n']}, {int(float(r['n_boot']))} resamples)", fontsize=9)
    fig.tight_layout()
    return fig


def _mosaic(images: np.ndarray, nrow: int) -> np.ndarray:
    """uint8 [N, C, H, W] -> one HWC mosaic with `nrow` images per row and a 1-pixel white border."""
    # Imported here: the plots (timing, FID, samplers) need no torch, and torchvision takes seconds to import.
    import torch
    from torchvision.utils import make_grid

    grid = make_grid(torch.from_numpy(np.ascontiguousarray(images)), nrow=nrow, padding=1, pad_value=255)
    return grid.permute(1, 2, 0).numpy()


def _panel_size(image_side: int, count: int) -> float:
    return max(1.2, min(3.0, count * image_side / 64))


def samples_figure(grid: np.ndarray, variants: Sequence[str], steps: Sequence[int], title: str) -> plt.Figure:
    """Figure 3 style: a panel of samples per (variant row, S column), all from the same x_T."""
    rows, cols, n = grid.shape[:3]
    per_row = int(np.ceil(np.sqrt(n)))
    size = _panel_size(grid.shape[-1], per_row)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * rows + 0.4), squeeze=False)
    for i, variant in enumerate(variants):
        for j, s in enumerate(steps):
            ax = axes[i, j]
            ax.imshow(_mosaic(grid[i, j], per_row), interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(f"S = {s}", fontsize=9)
            if j == 0:
                ax.set_ylabel(variant, fontsize=9)
    fig.suptitle(title, fontsize=10)
    return fig


def rows_figure(images: np.ndarray, column_labels: Sequence[str], title: str) -> plt.Figure:
    """Figures 5 and 6: [rows, columns, C, H, W] as one mosaic, labelled along the top."""
    rows, cols = images.shape[:2]
    if len(column_labels) != cols:
        raise ValueError(f"{len(column_labels)} column labels for {cols} columns")
    side = images.shape[-1] + 1
    mosaic = _mosaic(images.reshape(rows * cols, *images.shape[2:]), cols)
    width = max(4.0, min(12.0, cols * max(side, 24) / 24))
    fig, ax = plt.subplots(figsize=(width, width * rows / cols + 0.5))
    ax.imshow(mosaic, interpolation="nearest")
    ax.set_xticks([1 + side * (j + 0.5) for j in range(cols)], column_labels, fontsize=8)
    ax.xaxis.tick_top()
    ax.set_yticks([])
    ax.set_title(title, fontsize=10, pad=18)
    return fig
