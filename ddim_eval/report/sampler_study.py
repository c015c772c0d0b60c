"""The sampler study of a run: FID (and the other interval metrics) against NFE for each sampler, as a tidy CSV, a
Markdown / HTML table and a figure, beside the numbers the samplers' papers published on the same checkpoints.

Every cell of a dataset starts sample i from the same x_T, so each sampler is compared with the study's first
sampler (the baseline, DDIM in the shipped configs) and with the sampler listed before it at the same NFE budget,
and with itself at the previous budget, by paired bootstrap differences (`report.comparisons`; the marks show the
first and the last). A published number is set beside an entry only where dataset, sampler, parameters, NFE and
spacing match and the FID is Inception's; how closely each published setup maps onto ours is in the CSV's notes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from ddim_eval.experiment import cells
from ddim_eval.io import atomic_path, load_json
from ddim_eval.metrics.stats import INCEPTION
from ddim_eval.report.comparisons import combined, compare_cells, compare_external, entry_marks
from ddim_eval.report.tables import PAGE_STYLE, cell_rows, external_record
from ddim_eval.sampling.samplers import SamplerSpec

PUBLISHED = Path(__file__).with_name("published_samplers.csv")
# A user's sample set (config `external`) is a line of its own: its name as the sampler, its path as sample_set.
COLUMNS = ["dataset", "sampler", "title", "params", "nfe_budget", "nfe", "spacing", "n", "metric", "extractor",
           "fast_path", "value", "ci_low", "ci_high", "ci_level", "n_boot", "published_value", "published_source",
           "sample_set"]
# compare_cells names the axes as the paper's tables do (S, variant); the study's are the NFE budget and the sampler.
RENAMED = {"S": "nfe_budget", "variant": "sampler", "vs_S": "vs_nfe_budget", "vs_variant": "vs_sampler"}


def published(path: str | os.PathLike = PUBLISHED) -> pd.DataFrame:
    """Published FIDs on the paper's checkpoints, one row each, with their source and how sure the match is."""
    table = pd.read_csv(path, keep_default_na=False)
    table["params"] = [json.loads(p or "{}") for p in table["params"]]
    return table


def _published_value(table: pd.DataFrame, dataset: str, spec: SamplerSpec, nfe: int, spacing: str
                     ) -> tuple[float | None, str]:
    """The published FID of this entry (same dataset, sampler, NFE, spacing and parameters), with its source; a
    verified row before an unverified one, and the count of others where several disagree; (None, "") where there is
    none."""
    defaults = {k: p.default for k, p in spec.definition.params.items()}  # a row names the parameters it changes
    matches = [r for r in table.itertuples()
               if (r.dataset, r.sampler, int(r.nfe), r.spacing) == (dataset, spec.definition.name, nfe, spacing)
               and (defaults | r.params).items() <= spec.params.items()]
    if not matches:
        return None, ""
    best = sorted(matches, key=lambda r: r.verified != "yes")[0]
    others = f" (and {len(matches) - 1} other published value(s): see the CSV)" if len(matches) > 1 else ""
    return float(best.value), best.source + others


def collect_study(config: dict[str, Any], out: str, published_path: str | os.PathLike = PUBLISHED
                  ) -> dict[str, pd.DataFrame]:
    """The study's tidy rows ("samplers") and its paired comparisons ("samplers_comparisons"), from the run's
    result files."""
    baseline = cells.study_samplers(config)[0].label
    table, fast_path = published(published_path), cells.fast_path(config).label
    records, rows = {}, []
    for dataset, spec, budget, cell in cells.study_cells(config):
        records[dataset, budget, spec.label] = record = load_json(f"{out}/{cell.path}/metrics.json")
        nfe = load_json(f"{out}/{cell.path}/shard0/timing.json")["network_evals"]
        value, source = _published_value(table, dataset, spec, nfe, cell.spacing)
        for row in cell_rows(record):
            comparable = row["metric"] == "fid" and row["extractor"] == INCEPTION
            rows.append(dict(dataset=dataset, sampler=spec.label, title=spec.title, params=json.dumps(spec.params),
                             nfe_budget=budget, nfe=nfe, spacing=cell.spacing, fast_path=fast_path, sample_set="") | row
                        | ({"published_value": value, "published_source": source} if comparable else {}))
    # A user's sample set: a line of its own (its name as the sampler), compared (unpaired) with the baseline.
    external = {}
    for e in cells.external_sets(config, "samplers"):
        record = external_record(out, e)
        external[e["dataset"], e["S"], e["name"]] = record, baseline
        rows += [dict(dataset=e["dataset"], sampler=e["name"], title=f"your samples: {e['path']}", params="{}",
                      nfe_budget=e["S"], nfe=e["S"], spacing="n/a", fast_path="", sample_set=e["path"]) | row
                 for row in cell_rows(record)]
    level = config["intervals"]["level"]
    comparisons = combined(compare_cells("samplers", records, level, baseline=baseline),
                           compare_external("samplers", records, external, level))
    return {"samplers": pd.DataFrame(rows, columns=COLUMNS),
            "samplers_comparisons": comparisons.rename(columns=RENAMED)}


def _entry(r: Any, marks: dict) -> str:
    entry = f"{r.value:.4g}"
    if not pd.isna(r.ci_low):
        entry += f" [{r.ci_low:.3g}, {r.ci_high:.3g}]"
    if not pd.isna(r.published_value):
        entry += f" ({r.published_value:.4g})"
    mark = marks.get((r.dataset, r.metric, r.nfe_budget, r.sampler), "")
    return f"{entry} {mark}" if mark else entry


def layout(frame: pd.DataFrame, comparisons: pd.DataFrame) -> list[tuple[str, pd.DataFrame, str]]:
    """(metric, table, note) per metric: a line per (dataset, sampler), NFE budgets across, each entry
    "value [low, high] (published) marks"."""
    baseline = frame["sampler"].iloc[0]
    marks = entry_marks(comparisons.rename(columns={v: k for k, v in RENAMED.items()}), baseline=baseline)
    blocks = []
    for metric in dict.fromkeys(frame["metric"]):
        block = frame[frame["metric"] == metric]
        entries = [_entry(r, marks) for r in block.itertuples()]
        wide = (block.assign(entry=entries, line=block["title"] + " (" + block["sampler"] + ", " + block["spacing"]
                             + ")")
                .pivot_table(index=["dataset", "line"], columns="nfe_budget", values="entry", aggfunc="first",
                             sort=False)
                .reindex(columns=sorted(block["nfe_budget"].unique())).fillna(""))
        wide = wide.rename(columns=lambda b: f"NFE={b}").reset_index().rename(columns={"line": "sampler"})
        wide.columns.name = None
        spent = block[block["nfe"] != block["nfe_budget"]]
        note = (f"Values: {metric} ({block['extractor'].iloc[0]}), n = {block['n'].iloc[0]} per cell, network run in "
                f"{block['fast_path'].iloc[0]}. [low, high]: {block['ci_level'].iloc[0]:.0%} bootstrap interval over "
                f"the generated samples, {int(block['n_boot'].iloc[0])} resamples." if not block["ci_low"].isna().all()
                else f"Values: {metric} ({block['extractor'].iloc[0]}); no interval.")
        note += (f" Marks: * differs from {baseline} at the same NFE budget, † from the previous budget (paired "
                 "bootstrap, each comparison at the stated level, no multiplicity correction).")
        if (block["sample_set"] != "").any():
            note += f" ‡ a sample set of yours differs from {baseline} (unpaired: no shared x_T)."
        if len(spent):
            note += " Budgets a sampler cannot spend exactly: " + ", ".join(
                f"{r.sampler} at {r.nfe_budget} makes {r.nfe}" for r in spent.drop_duplicates(
                    ["sampler", "nfe_budget"]).itertuples()) + "."
        if block["published_value"].notna().any():
            note += " In parentheses: the published value of the same entry (published_samplers.csv)."
        blocks.append((metric, wide, note))
    return blocks


def markdown(frame: pd.DataFrame, comparisons: pd.DataFrame) -> str:
    return "\n".join(("" if i == 0 else f"**{metric}**\n\n") + wide.to_markdown(
        index=False, tablefmt="github", disable_numparse=True) + f"\n\n{note}\n"
        for i, (metric, wide, note) in enumerate(layout(frame, comparisons)))


def html(frame: pd.DataFrame, comparisons: pd.DataFrame) -> str:
    body = "".join(("" if i == 0 else f"<h3>{escape(metric)}</h3>") + wide.to_html(index=False, border=0)
                   + f"<p class='note'>{escape(note)}</p>" for i, (metric, wide, note) in enumerate(
                       layout(frame, comparisons)))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>samplers</title><style>{PAGE_STYLE}</style>"
            f"</head><body>{body}</body></html>\n")


def write_study(tables: dict[str, pd.DataFrame], paths: Iterable[str | os.PathLike]) -> None:
    """Write samplers.csv / .md / .html and samplers_comparisons.csv to the given paths, atomically."""
    frame, comparisons = tables["samplers"], tables["samplers_comparisons"]
    for path in map(Path, paths):
        with atomic_path(path) as tmp:
            if path.suffix == ".csv":
                tables[path.stem].to_csv(tmp, index=False, lineterminator="\r\n")
            else:
                tmp.write_text(html(frame, comparisons) if path.suffix == ".html" else markdown(frame, comparisons))
