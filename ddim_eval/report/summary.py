"""A run's standalone Markdown summary: what was run, Tables 1-3 and the timings beside the paper's numbers, and
the figures, linked by paths relative to the summary (`results/<run>/summary.md`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from ddim_eval.experiment.cells import protocol_cells
from ddim_eval.io import atomic_path

TITLES = {"table1": "Table 1: FID over S and eta", "table2": "Table 2: reconstruction error over S",
          "table3": "Table 3: FID over S, eta 0 and 1", "timing": "Figure 4 data: sampling time"}
IMAGE_FIGURES = {"samples": "Samples per S and variant (Figure 3)",
                 "consistency": "Consistency: one x_T decoded with several S (Figure 5)",
                 "interpolation": "Interpolation: slerp between two x_T (Figure 6)"}


def write_summary(config: dict[str, Any], out: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write the summary of the run whose results are under `out` to `path` (atomically)."""
    out = Path(out)
    used = ", ".join(f"{name} (model {e['model']}, {e['source']} data)" for name, e in config["datasets"].items()
                     if name in _used(config))
    lines = [f"# ddim-eval run `{config['run']}`", "",
             f"- Datasets: {used}",
             f"- Samples per cell: {config['n_samples']} in shards of {config['shard_size']}; FID features: "
             f"{config['extractor']['name']}; device: {config.get('device', 'cpu')}",
             "- Every value is measured by this run; the paper's value is in parentheses where it has one.", ""]
    for table, title in TITLES.items():
        datasets = config[table]["datasets"]
        lines += [f"## {title} ({', '.join(datasets)})", ""]
        if table == "table3" and not all(d.startswith("lsun") for d in datasets):
            lines += ["The paper's Table 3 is LSUN bedroom and church; this run serves its grid with the cells of "
                      f"{', '.join(datasets)}.", ""]
        lines += [(out / "tables" / f"{table}.md").read_text().strip(), ""]
        comparisons = out / "tables" / f"{table}_comparisons.csv"
        if comparisons.exists():
            lines += _real_differences(pd.read_csv(comparisons), title)
    lines += ["## FID over S with intervals", "", "![FID over S](figures/fid.png)", ""]
    if config.get("samplers"):
        lines += _sampler_study(out)
    if config.get("protocol_study"):
        lines += ["## Why FIDs disagree: the protocol study", "", (out / "tables" / "protocol.md").read_text().strip(),
                  "", "![The protocol study](figures/protocol.png)", ""]
    if config["timing"]["datasets"]:
        lines += ["## Figure 4: hours to sample 50,000 images against S", "", "![Figure 4](figures/timing.png)", ""]
    for dataset in config["figures"]["datasets"]:
        for name, title in IMAGE_FIGURES.items():
            lines += [f"## {dataset}: {title}", "", f"![{dataset} {name}](figures/{dataset}/{name}.png)", ""]
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines))
    return Path(path)


def _real_differences(comparisons: pd.DataFrame, title: str) -> list[str]:
    """The summary's "which differences are real" paragraph of one table."""
    if comparisons.empty:
        return []
    level, n_boot = comparisons["ci_level"].iloc[0], comparisons["n_boot"].iloc[0]
    over = ("the images, the same images and resamples at every S" if (comparisons["metric"] == "recon_mse").all()
            else "the generated samples, the same resamples in every cell of a dataset")
    lines = [f"### Which differences are real ({title.split(':')[0]})", "",
             f"Paired bootstrap intervals ({level:.0%}, {n_boot} resamples of {over}; each comparison tested on its "
             "own):", ""]
    for (dataset, metric), group in comparisons.groupby(["dataset", "metric"], sort=False):
        real = group[group["significant"]]
        lines.append(f"- {dataset}, {metric}: {len(real)} of {len(group)} differences are significant.")
        for kind, what in (("S", "steps"), ("variant", "variants")):
            rows = group[(group["kind"] == kind) & ~group["significant"]]
            if len(rows):
                listed = "; ".join(f"{r.variant} S={r.S} vs {r.vs_variant} S={r.vs_S}: {r.difference:+.3g} "
                                   f"[{r.ci_low:.3g}, {r.ci_high:.3g}]" for r in rows.itertuples())
                lines.append(f"  Not significant among {what}: {listed}.")
        for r in group[group["kind"] == "external"].itertuples():
            lines.append(f"  Your sample set {r.variant} vs our {r.vs_variant} at S={r.S} (unpaired: no shared x_T): "
                         f"{r.difference:+.3g} [{r.unpaired_ci_low:.3g}, {r.unpaired_ci_high:.3g}]"
                         f"{', significant' if r.significant else ''}.")
        paired = (group["ci_high"] - group["ci_low"]).median()
        unpaired = (group["unpaired_ci_high"] - group["unpaired_ci_low"]).median()
        lines.append(f"  Median interval width: paired {paired:.3g}, unpaired (cells as if independent) "
                     f"{unpaired:.3g}.")
    return lines + [""]


def _sampler_study(out: Path) -> list[str]:
    """The sampler study's section: its table, which differences from the baseline are real, its figure."""
    comparisons = pd.read_csv(out / "tables" / "samplers_comparisons.csv")
    against = comparisons[comparisons["kind"] == "variant"]
    baseline = against["vs_sampler"].iloc[0] if len(against) else ""
    lines = ["## Samplers: FID against NFE (beyond the paper)", "",
             (out / "tables" / "samplers.md").read_text().strip(), "",
             f"### Which samplers differ from {baseline} at the same NFE budget", ""]
    for (dataset, metric), group in against[against["vs_sampler"] == baseline].groupby(["dataset", "metric"],
                                                                                     sort=False):
        better = group[group["significant"] & (group["difference"] < 0)]
        worse = group[group["significant"] & (group["difference"] > 0)]
        lines.append(f"- {dataset}, {metric}: of {len(group)} comparisons, {len(better)} significantly lower, "
                     f"{len(worse)} significantly higher, {len(group) - len(better) - len(worse)} not significant.")
    return lines + ["", "![FID against NFE](figures/samplers.png)", ""]


def _used(config: dict[str, Any]) -> set[str]:
    parts = [config[t]["datasets"] for t in TITLES] + [config["figures"]["datasets"]]
    parts += [config["samplers"]["datasets"]] if config.get("samplers") else []
    parts += [[c.dataset for c in protocol_cells(config).values()]]
    return {d for datasets in parts for d in datasets}
