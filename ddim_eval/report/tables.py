"""Tables 1-3 and the Figure 4 timings of a run, as tidy CSV and as Markdown and HTML laid out like the paper's.

One CSV row per measured value: dataset, S, variant, spacing, n, distinct timesteps, metric, extractor, value, its
interval (ci_low, ci_high, ci_level, n_boot; none for timings, which are best-of-k wall times), the paper's value
for the same entry (where the paper has one) and the difference. The Markdown and HTML put S across the columns,
as the paper does, each entry "ours [low, high] (paper)", mark with "!" an entry further from the paper than
TOLERANCE (relative): 10% for FID, 50% for Table 2's reconstruction error (printed by the paper to one or two
significant digits), and with "*" / "†" an entry that differs significantly from eta = 0 at its S / from the
previous S (report.comparisons; the comparisons are listed under the table and in `<table>_comparisons.csv`).
Numbers from another extractor than Inception are never compared with the paper's FID.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from ddim_eval.experiment import cells
from ddim_eval.io import atomic_path, load_json
from ddim_eval.metrics.stats import INCEPTION
from ddim_eval.report.comparisons import (
    EXTERNAL_MARK_NOTE,
    MARK_NOTE,
    combined,
    compare_cells,
    compare_external,
    entry_marks,
)
from ddim_eval.sampling.samplers import SIGMA_HAT
from ddim_eval.sampling.times import timesteps

PAPER_TABLES = Path(__file__).with_name("paper_tables.csv")
TOLERANCE = {"fid": 0.10, "recon_mse": 0.50}
KEYS = ["table", "dataset", "S", "variant", "metric"]
# A user's sample set (config `external`) is a row of its own: its name as the variant, its path as sample_set.
COLUMNS = ["table", "dataset", "S", "variant", "spacing", "n", "distinct_timesteps", "metric", "extractor", "device",
           "fast_path", "value", "ci_low", "ci_high", "ci_level", "n_boot", "sample_set", "paper_value", "difference"]
NO_INTERVAL = {
    "hours_per_50k": "No interval: a timing is the best of k runs of one batch.",
    **dict.fromkeys(("precision", "recall"), "No interval: torch-fidelity gives precision and recall as single values "
                    "(the k-NN balls of a resample with duplicates would shrink to nothing)."),
}
TARGETS = {
    "kid_all_pairs": "MMD^2 (KID's unbiased all-pairs estimate: the expected value at any n; in the kernel's raw "
                     "units, not x 1000, and it may fall below 0)",
    "fid_inf": "FID at infinitely many samples (Chong & Forsyth: FID on 15 subset sizes from n/10 to n, extrapolated "
               "in 1/N; the fit is repeated on each resample)",
}
# The metrics a FID cell's record may hold, in table order; the first is the paper's.
CELL_METRICS = ("fid", "fid_inf", "kid_all_pairs", "precision", "recall")
PAGE_STYLE = ("table{border-collapse:collapse;font-family:sans-serif;font-size:14px}"
               "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}"
               "h3,.note{font-family:sans-serif}.note{font-size:13px}")


def paper_values(path: str | os.PathLike = PAPER_TABLES) -> pd.DataFrame:
    """The paper's numbers: one row per entry, KEYS and paper_value (tables named as ours: table1..table3)."""
    paper = pd.read_csv(path)
    paper["table"] = "table" + paper["table"].astype(str)
    return paper.rename(columns={"steps": "S", "value": "paper_value"})[[*KEYS, "paper_value"]]


def cell_rows(record: dict[str, Any], metrics: tuple[str, ...] = CELL_METRICS) -> list[dict[str, Any]]:
    """A cell's metrics record as one row per metric it holds, with the interval where it has one."""
    rows = []
    for metric in (m for m in metrics if m in record):
        row = {"metric": metric, "extractor": record["extractor"], "n": record["n"], "value": record[metric]}
        if f"{metric}_ci_low" in record:
            row |= {"ci_low": record[f"{metric}_ci_low"], "ci_high": record[f"{metric}_ci_high"],
                    "ci_level": record["ci_level"], "n_boot": record["n_boot"]}
        rows.append(row)
    return rows


def variant_label(variant: float | str) -> str:
    """How the paper's tables head a variant: "eta=<float>", or "sigma_hat"."""
    return variant if variant == SIGMA_HAT else f"eta={float(variant)}"


def _cell_records(config: dict[str, Any], out: str, table: str) -> dict[tuple[str, int, str], dict[str, Any]]:
    """A FID table's cells' metrics records, keyed by (dataset, S, variant label), in table order."""
    t = config[table]
    return {(d, s, variant_label(v)): load_json(f"{out}/{cells.paper_cell(config, d, s, v).path}/metrics.json")
            for d in t["datasets"] for s in t["steps"] for v in t["variants"]}


def external_record(out: str, entry: dict[str, Any]) -> dict[str, Any]:
    """The metrics record of a user's sample set (a config `external` entry), as its `external_metrics` job wrote
    it."""
    return load_json(f"{out}/{cells.EXTERNAL_PATH.format(name=entry['name'])}")


def _external(config: dict[str, Any], out: str, table: str) -> tuple[list[dict[str, Any]], dict]:
    """A FID table's rows of the user's sample sets (the paper value beside one is that of the variant it
    reproduces), and their records keyed by (dataset, S, name) with the label of our variant each is compared with
    (its `variant`, else eta = 0)."""
    rows, records = [], {}
    for e in cells.external_sets(config, table):
        record = external_record(out, e)
        records[e["dataset"], e["S"], e["name"]] = record, variant_label(e.get("variant", 0.0))
        reproduces = variant_label(e["variant"]) if "variant" in e else e["name"]
        rows += [dict(dataset=e["dataset"], S=e["S"], variant=e["name"], spacing="", sample_set=e["path"],
                      paper_variant=reproduces) | row for row in cell_rows(record)]
    return rows, records


def _recon_record(r: dict[str, Any]) -> dict[str, Any]:
    """A Table 2 reconstruction record in the shape of a cell's metrics record, its error named recon_mse."""
    record = {"extractor": "", "n": r["n"], "recon_mse": r["mse"], "fast_path": r["fast_path"]}
    if "replicates" in r:
        record |= {"recon_mse_ci_low": r["mse_ci_low"], "recon_mse_ci_high": r["mse_ci_high"],
                   "ci_level": r["ci_level"], "n_boot": r["n_boot"], "bootstrap_seed": r["bootstrap_seed"],
                   "replicates": {"recon_mse": r["replicates"]["mse"]}}
    return record


def _measured(config: dict[str, Any], out: str) -> tuple[dict[str, list[dict[str, Any]]], dict[str, pd.DataFrame]]:
    """Each table's measured values, read from the run's result files, one record per entry; and the paired
    comparisons of each table with intervals."""
    tables, comparisons = {}, {}
    fast_path = cells.fast_path(config).label  # every network job of a run runs the network this way
    level = config["intervals"]["level"]
    for table in cells.FID_TABLES:
        records, (external_rows, external) = _cell_records(config, out, table), _external(config, out, table)
        rows = [dict(dataset=d, S=s, variant=v, spacing=cells.spacing(config, d), fast_path=fast_path) | row
                for (d, s, v), record in records.items() for row in cell_rows(record)]
        tables[table] = sorted(rows + external_rows, key=lambda r: CELL_METRICS.index(r["metric"]))  # by metric
        comparisons[f"{table}_comparisons"] = combined(compare_cells(table, records, level),
                                                       compare_external(table, records, external, level))
    path = f"{out}/{cells.RECON_PATH}"
    recon = {(d, sp, s): _recon_record(load_json(path.format(dataset=d, spacing=sp, steps=s)))
             for d, sp, s in cells.recon_runs(config)}
    tables["table2"] = [dict(dataset=d, S=s, variant="eta=0.0", spacing=sp, fast_path=record["fast_path"]) | row
                        for (d, sp, s), record in recon.items() for row in cell_rows(record, ("recon_mse",))]
    comparisons["table2_comparisons"] = compare_cells(
        "table2", {(d, s, "eta=0.0"): record for (d, _, s), record in recon.items()}, config["intervals"]["level"])
    tables["timing"] = [
        dict(dataset=d, S=s, variant="eta=0.0", spacing=sp, n=r["batch_size"], metric="hours_per_50k",
             device=r["device"], fast_path=r["fast_path"], value=r["hours_per_50k"])
        for d, sp, s in cells.timing_runs(config)
        for r in [load_json(f"{out}/{cells.TIMING_PATH.format(dataset=d, spacing=sp, steps=s)}")]]
    return tables, comparisons


def tidy(table: str, records: list[dict[str, Any]], paper: pd.DataFrame) -> pd.DataFrame:
    """One table's records as tidy rows (COLUMNS), beside the paper's value where it is comparable."""
    blank = {"table": table, "extractor": "", "device": "", "fast_path": "", "sample_set": ""}
    frame = pd.DataFrame([blank | r for r in records], columns=[*COLUMNS[:COLUMNS.index("paper_value")],
                                                                "paper_variant"]).astype({"n_boot": "Int64"})
    frame["distinct_timesteps"] = [len(set(timesteps(s, sp))) if sp else pd.NA
                                   for s, sp in zip(frame["S"], frame["spacing"])]
    # The paper's value of the entry: ours, or the one a user's sample set reproduces.
    frame["paper_variant"] = frame["paper_variant"].fillna(frame["variant"])
    frame = frame.merge(paper.rename(columns={"variant": "paper_variant"}),
                        on=[k if k != "variant" else "paper_variant" for k in KEYS], how="left")
    # FID from another extractor than Inception is another quantity than the paper's.
    frame.loc[(frame["metric"] == "fid") & (frame["extractor"] != INCEPTION), "paper_value"] = None
    frame["difference"] = frame["value"] - frame["paper_value"]
    return frame[COLUMNS]


def collect(config: dict[str, Any], out: str, paper_path: str | os.PathLike = PAPER_TABLES
            ) -> dict[str, pd.DataFrame]:
    """Each table's tidy rows, and each FID table's comparisons (`<table>_comparisons`), from a run's result
    files."""
    paper = paper_values(paper_path)
    measured, comparisons = _measured(config, out)
    return {table: tidy(table, records, paper) for table, records in measured.items()} | comparisons


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _entries(frame: pd.DataFrame, marks: dict[tuple[str, str, int, str], str]) -> list[str]:
    """Each row's entry: "ours", "[low, high]" where it has an interval, "(paper)" where the paper has a value,
    " !" past TOLERANCE, and its significance marks."""
    far = frame["difference"].abs() > frame["metric"].map(TOLERANCE).fillna(0) * frame["paper_value"].abs()
    entries = []
    for r, beyond in zip(frame.itertuples(), far):
        entry = _fmt(r.value)
        if not pd.isna(r.ci_low):
            entry += f" [{r.ci_low:.3g}, {r.ci_high:.3g}]"
        if not pd.isna(r.paper_value):
            entry += f" ({_fmt(r.paper_value)}){' !' if beyond else ''}"
        mark = marks.get((r.dataset, r.metric, r.S, r.variant), "")
        entries.append(f"{entry} {mark}" if mark else entry)
    return entries


def _interval_note(frame: pd.DataFrame) -> str:
    """What the interval of a one-metric block is: over what, how many resamples, for which target."""
    metric = frame["metric"].iloc[0]
    if frame["ci_low"].isna().all():
        return NO_INTERVAL.get(metric, "")
    level, n_boot, n = frame["ci_level"].iloc[0], frame["n_boot"].iloc[0], frame["n"].iloc[0]
    over = "the test images" if metric == "recon_mse" else "the generated samples (reference fixed)"
    target = TARGETS.get(metric, f"the expected value at n = {n}")
    return f"[low, high]: {level:.0%} bootstrap interval over {over}, {n_boot} resamples, for {target}."


def _blocks(frame: pd.DataFrame) -> list[pd.DataFrame]:
    """The frame split by metric, in table order (one paper-layout table each)."""
    return [frame[frame["metric"] == m] for m in dict.fromkeys(frame["metric"])]


def paper_layout(frame: pd.DataFrame, comparisons: pd.DataFrame | None = None) -> tuple[pd.DataFrame, str]:
    """The paper's layout of a tidy table of one metric: a line per (dataset, variant) in order of appearance, S
    across (`S=<s>` columns), and the note that says what the values and marks are."""
    marks = entry_marks(comparisons) if comparisons is not None and len(comparisons) else {}
    wide = (frame.assign(entry=_entries(frame, marks))
            .pivot_table(index=["dataset", "variant"], columns="S", values="entry", aggfunc="first", sort=False)
            .reindex(columns=sorted(frame["S"].unique())).fillna(""))
    wide = wide.rename(columns=lambda s: f"S={s}").reset_index()
    wide.columns.name = None
    metrics = ", ".join(sorted(frame["metric"].unique()))
    sources = sorted({e or d for e, d in zip(frame["extractor"], frame["device"])} - {""})
    what = metrics + (f" from {', '.join(sources)}" if sources else "")
    if frame["paper_value"].notna().any():
        compared = f"In parentheses: the paper's value; ! marks a difference beyond the tolerance {TOLERANCE}."
    else:
        compared = "The paper reports no value for these entries (other datasets, or FID from another extractor)."
    shown = [mark for key, mark in marks.items() if key[1] in set(frame["metric"])]
    marked = (f"Marks: {MARK_NOTE}" + (f"; {EXTERNAL_MARK_NOTE}" if any("‡" in m for m in shown) else "") + "."
              if shown else "")
    bias = (" FID is biased upward at finite n (more samples give a lower FID): the interval is about sampling noise "
            "at this n, not about FID at infinitely many samples." if (frame["metric"] == "fid").any() else "")
    ran = ", ".join(sorted(set(frame["fast_path"]) - {""}))
    notes = [f"Values: {what}.", f"Network run in {ran} (fast path: docs, \"Fast path\")." if ran else "",
             _interval_note(frame) + bias, compared, marked]
    return wide, " ".join(n for n in notes if n)


def comparison_layout(comparisons: pd.DataFrame) -> pd.DataFrame:
    """The comparisons as a readable table: what is compared, the paired and unpaired intervals, significance."""
    c = comparisons
    return pd.DataFrame({
        "dataset": c["dataset"], "metric": c["metric"],
        "comparison": [f"{v} S={s} - {vv} S={vs}" for s, v, vs, vv in zip(c["S"], c["variant"], c["vs_S"],
                                                                           c["vs_variant"])],
        "difference [paired interval]": [f"{d:.3g} " + ("(unpaired only)" if pd.isna(lo) else f"[{lo:.3g}, {hi:.3g}]")
                                         for d, lo, hi in zip(c["difference"], c["ci_low"], c["ci_high"])],
        "unpaired interval": [f"[{lo:.3g}, {hi:.3g}]" for lo, hi in zip(c["unpaired_ci_low"], c["unpaired_ci_high"])],
        "significant": ["yes" if s else "no" for s in c["significant"]]})


def markdown(frame: pd.DataFrame, comparisons: pd.DataFrame | None = None) -> str:
    parts = []
    for i, block in enumerate(_blocks(frame)):
        wide, note = paper_layout(block, comparisons)
        title = "" if i == 0 else f"**{block['metric'].iloc[0]}**\n\n"
        parts.append(title + wide.to_markdown(index=False, tablefmt="github", disable_numparse=True) + f"\n\n{note}\n")
    if comparisons is not None and len(comparisons):
        parts.append(f"**Paired comparisons** ({comparisons['ci_level'].iloc[0]:.0%}, {comparisons['n_boot'].iloc[0]} "
                     "resamples; the unpaired interval is what treating the cells as independent would give)\n\n"
                     + comparison_layout(comparisons).to_markdown(index=False, tablefmt="github",
                                                                  disable_numparse=True) + "\n")
    return "\n".join(parts)


def html(table: str, frame: pd.DataFrame, comparisons: pd.DataFrame | None = None) -> str:
    """The paper layout (and the comparisons) as a small standalone HTML page (the Snakemake report shows HTML
    inline)."""
    body = []
    for i, block in enumerate(_blocks(frame)):
        wide, note = paper_layout(block, comparisons)
        title = "" if i == 0 else f"<h3>{escape(block['metric'].iloc[0])}</h3>"
        body.append(f"{title}{wide.to_html(index=False, border=0)}<p class='note'>{escape(note)}</p>")
    if comparisons is not None and len(comparisons):
        body.append(f"<h3>Paired comparisons</h3>{comparison_layout(comparisons).to_html(index=False, border=0)}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(table)}</title>"
            f"<style>{PAGE_STYLE}</style></head><body>{''.join(body)}</body></html>\n")


def write_tables(tables: dict[str, pd.DataFrame], paths: Iterable[str | os.PathLike]) -> None:
    """Write `<name>.csv`, `<name>.md` or `<name>.html` for each table to the given paths (matched by file
    name), atomically; a table's Markdown and HTML include its comparisons (`<name>_comparisons`) where it has
    them."""
    for path in map(Path, paths):
        frame, comparisons = tables[path.stem], tables.get(f"{path.stem}_comparisons")
        with atomic_path(path) as tmp:
            if path.suffix == ".csv":
                frame.to_csv(tmp, index=False, lineterminator="\r\n")  # as the csv module writes it
            elif path.suffix == ".html":
                tmp.write_text(html(path.stem, frame, comparisons))
            else:
                tmp.write_text(markdown(frame, comparisons))
