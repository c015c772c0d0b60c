"""Tables 1-3 and the Figure 4 timings of a run, as tidy CSV and as Markdown and HTML laid out like the paper's.

One CSV row per measured value: dataset, S, variant, spacing, n, distinct timesteps, metric, extractor, value,
the paper's value for the same entry (where the paper has one) and the difference. The Markdown and HTML put S
across the columns, as the paper does, each entry "ours (paper)", and mark with "!" an entry further from the paper
than TOLERANCE (relative): 10% for FID, 50% for Table 2's reconstruction error (printed by the paper to one or two
significant digits). Numbers from another extractor than Inception are never compared with the paper's FID.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from ddim_eval.grid import cells
from ddim_eval.io import atomic_path
from ddim_eval.metrics.extractors import INCEPTION
from ddim_eval.sampling.schedule import timesteps
from ddim_eval.sampling.variants import variant_label

PAPER_TABLES = Path(__file__).with_name("paper_tables.csv")
TOLERANCE = {"fid": 0.10, "recon_mse": 0.50}
KEYS = ["table", "dataset", "S", "variant", "metric"]
COLUMNS = ["table", "dataset", "S", "variant", "spacing", "n", "distinct_timesteps", "metric", "extractor", "device",
           "value", "paper_value", "difference"]
_PAGE_STYLE = ("table{border-collapse:collapse;font-family:sans-serif;font-size:14px}"
               "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}")


def paper_values(path: str | os.PathLike = PAPER_TABLES) -> pd.DataFrame:
    """The paper's numbers: one row per entry, KEYS and paper_value (tables named as ours: table1..table3)."""
    paper = pd.read_csv(path)
    paper["table"] = "table" + paper["table"].astype(str)
    return paper.rename(columns={"steps": "S", "value": "paper_value"})[[*KEYS, "paper_value"]]


def _read(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _measured(config: dict[str, Any], out: str) -> dict[str, list[dict[str, Any]]]:
    """Each table's measured values, read from the run's result files, one record per entry."""
    tables = {}
    for table in cells.FID_TABLES:
        t = config[table]
        records = []
        for d in t["datasets"]:
            sp = cells.spacing(config, d)
            for s in t["steps"]:
                for v in map(variant_label, t["variants"]):
                    m = _read(f"{out}/{cells.CELL_DIR.format(dataset=d, spacing=sp, steps=s, variant=v)}/metrics.json")
                    records.append(dict(dataset=d, S=s, variant=v, spacing=sp, n=m["n"], metric="fid",
                                        extractor=m["extractor"], value=m["fid"]))
        tables[table] = records
    tables["table2"] = [
        dict(dataset=d, S=s, variant="eta=0.0", spacing=sp, n=r["n"], metric="recon_mse", value=r["mse"])
        for d, sp, s in cells.recon_runs(config)
        for r in [_read(f"{out}/{cells.RECON_PATH.format(dataset=d, spacing=sp, steps=s)}")]]
    tables["timing"] = [
        dict(dataset=d, S=s, variant="eta=0.0", spacing=sp, n=r["batch_size"], metric="hours_per_50k",
             device=r["device"], value=r["hours_per_50k"])
        for d, sp, s in cells.timing_runs(config)
        for r in [_read(f"{out}/{cells.TIMING_PATH.format(dataset=d, spacing=sp, steps=s)}")]]
    return tables


def tidy(table: str, records: list[dict[str, Any]], paper: pd.DataFrame) -> pd.DataFrame:
    """One table's records as tidy rows (COLUMNS), beside the paper's value where it is comparable."""
    frame = pd.DataFrame([{"table": table, "extractor": "", "device": ""} | r for r in records],
                         columns=COLUMNS[:COLUMNS.index("paper_value")])
    frame["distinct_timesteps"] = [len(set(timesteps(s, sp))) for s, sp in zip(frame["S"], frame["spacing"])]
    frame = frame.merge(paper, on=KEYS, how="left")
    # FID from another extractor than Inception is another quantity than the paper's.
    frame.loc[(frame["metric"] == "fid") & (frame["extractor"] != INCEPTION), "paper_value"] = None
    frame["difference"] = frame["value"] - frame["paper_value"]
    return frame[COLUMNS]


def collect(config: dict[str, Any], out: str, paper_path: str | os.PathLike = PAPER_TABLES
            ) -> dict[str, pd.DataFrame]:
    """Each table's tidy rows, from a run's result files."""
    paper = paper_values(paper_path)
    return {table: tidy(table, records, paper) for table, records in _measured(config, out).items()}


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _entries(frame: pd.DataFrame) -> list[str]:
    """Each row's entry: "ours", or "ours (paper)" with " !" past TOLERANCE."""
    far = frame["difference"].abs() > frame["metric"].map(TOLERANCE).fillna(0) * frame["paper_value"].abs()
    return [_fmt(value) if pd.isna(paper) else f"{_fmt(value)} ({_fmt(paper)}){' !' if beyond else ''}"
            for value, paper, beyond in zip(frame["value"], frame["paper_value"], far)]


def paper_layout(frame: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The paper's layout of a tidy table: a line per (dataset, variant) in order of appearance, S across
    ("S=<s>" columns), and the note that says what the values are."""
    wide = (frame.assign(entry=_entries(frame))
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
    return wide, f"Values: {what}. {compared}"


def markdown(frame: pd.DataFrame) -> str:
    wide, note = paper_layout(frame)
    return wide.to_markdown(index=False, tablefmt="github", disable_numparse=True) + f"\n\n{note}\n"


def html(table: str, frame: pd.DataFrame) -> str:
    """The paper layout as a small standalone HTML page (the Snakemake report shows HTML inline)."""
    wide, note = paper_layout(frame)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(table)}</title>"
            f"<style>{_PAGE_STYLE}</style></head><body>{wide.to_html(index=False, border=0)}"
            f"<p style='font-family:sans-serif;font-size:13px'>{escape(note)}</p></body></html>\n")


def write_tables(tables: dict[str, pd.DataFrame], paths: Iterable[str | os.PathLike]) -> None:
    """Write `<name>.csv`, `<name>.md` or `<name>.html` for each table to the given paths (matched by file
    name), atomically."""
    for path in map(Path, paths):
        frame = tables[path.stem]
        with atomic_path(path) as tmp:
            if path.suffix == ".csv":
                frame.to_csv(tmp, index=False, lineterminator="\r\n")  # as the csv module writes it
            elif path.suffix == ".html":
                tmp.write_text(html(path.stem, frame))
            else:
                tmp.write_text(markdown(frame))
