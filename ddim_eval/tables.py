"""Tables 1-3 and the Figure 4 timings of a run, as tidy CSV and as Markdown laid out like the paper's tables.

One CSV row per measured value: dataset, S, variant, spacing, n, distinct timesteps, metric, extractor, value,
the paper's value for the same entry (where the paper has one) and the difference. The Markdown puts S across the
columns, as the paper does, each entry "ours (paper)", and marks with "!" an entry further from the paper than
TOLERANCE (relative): 10% for FID, 50% for Table 2's reconstruction error (printed by the paper to one or two
significant digits). Numbers from another extractor than Inception are never compared with the paper's FID.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

from ddim_eval import grid
from ddim_eval.features import INCEPTION
from ddim_eval.io import atomic_path
from ddim_eval.schedule import timesteps

PAPER_TABLES = Path(__file__).with_name("paper_tables.csv")
TOLERANCE = {"fid": 0.10, "recon_mse": 0.50}
COLUMNS = ("table", "dataset", "S", "variant", "spacing", "n", "distinct_timesteps", "metric", "extractor", "device",
           "value", "paper_value", "difference")
_TABLE_NUMBER = {"table1": "1", "table2": "2", "table3": "3"}


def paper_values(path: str | os.PathLike = PAPER_TABLES) -> dict[tuple[str, str, int, str, str], float]:
    """(table, dataset, S, variant, metric) -> the paper's number."""
    with open(path, newline="") as f:
        return {(r["table"], r["dataset"], int(r["steps"]), r["variant"], r["metric"]): float(r["value"])
                for r in csv.DictReader(f)}


def _read(path: str) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def _row(table: str, dataset: str, steps: int, variant: str, spacing: str, n: int, metric: str, extractor: str,
         value: float, paper: dict, device: str = "") -> dict[str, Any]:
    comparable = metric != "fid" or extractor == INCEPTION
    ref = paper.get((_TABLE_NUMBER.get(table, ""), dataset, steps, variant, metric)) if comparable else None
    return {"table": table, "dataset": dataset, "S": steps, "variant": variant, "spacing": spacing, "n": n,
            "distinct_timesteps": len(set(timesteps(steps, spacing))), "metric": metric, "extractor": extractor,
            "device": device, "value": value, "paper_value": ref, "difference": None if ref is None else value - ref}


def collect(config: dict[str, Any], out: str, paper_path: str | os.PathLike = PAPER_TABLES) -> dict[str, list[dict]]:
    """Rows of each table from a run's result files."""
    paper = paper_values(paper_path)
    tables: dict[str, list[dict]] = {}
    for table in grid.FID_TABLES:
        rows = []
        t = config[table]
        for d in t["datasets"]:
            sp = grid.spacing(config, d)
            for s in t["steps"]:
                for v in map(grid.variant_label, t["variants"]):
                    m = _read(grid.CELL_DIR.format(out=out, dataset=d, spacing=sp, steps=s, variant=v)
                              + "/metrics.json")
                    rows.append(_row(table, d, s, v, sp, m["n"], "fid", m["extractor"], m["fid"], paper))
        tables[table] = rows
    tables["table2"] = [
        _row("table2", d, s, "eta=0.0", sp, r["n"], "recon_mse", "", r["mse"], paper)
        for d, sp, s in grid.recon_runs(config)
        for r in [_read(grid.RECON_PATH.format(out=out, dataset=d, spacing=sp, steps=s))]]
    tables["timing"] = [
        _row("timing", d, s, "eta=0.0", sp, r["batch_size"], "hours_per_50k", "", r["hours_per_50k"], paper,
             device=r["device"])
        for d, sp, s in grid.timing_runs(config)
        for r in [_read(grid.TIMING_PATH.format(out=out, dataset=d, spacing=sp, steps=s))]]
    return tables


def _fmt(x: float) -> str:
    return f"{x:.4g}"


def _layout(rows: list[dict]) -> tuple[list[str], list[list[str]], str]:
    """The paper's layout: a line per (dataset, variant), S across; entries "ours (paper)" and "!" past
    TOLERANCE. Returns (header, body lines, the note saying what the values are)."""
    steps = sorted({r["S"] for r in rows})
    keyed = {(r["dataset"], r["variant"], r["S"]): r for r in rows}
    body = []
    for dataset, variant in dict.fromkeys((r["dataset"], r["variant"]) for r in rows):
        entries = []
        for s in steps:
            r = keyed.get((dataset, variant, s))
            if r is None:
                entries.append("")
                continue
            text = _fmt(r["value"])
            if r["paper_value"] is not None:
                far = abs(r["difference"]) > TOLERANCE.get(r["metric"], 0) * abs(r["paper_value"])
                text += f" ({_fmt(r['paper_value'])}){' !' if far else ''}"
            entries.append(text)
        body.append([dataset, variant, *entries])
    metric = {r["metric"] for r in rows}
    source = {r["extractor"] or r["device"] for r in rows} - {""}
    what = f"{', '.join(sorted(metric))}" + (f" from {', '.join(sorted(source))}" if source else "")
    if any(r["paper_value"] is not None for r in rows):
        compared = f"In parentheses: the paper's value; ! marks a difference beyond the tolerance {TOLERANCE}."
    else:
        compared = "The paper reports no value for these entries (other datasets, or FID from another extractor)."
    note = f"Values: {what}. {compared}"
    return ["dataset", "variant", *(f"S={s}" for s in steps)], body, note


def markdown(table: str, rows: list[dict]) -> str:
    header, body, note = _layout(rows)
    lines = [f"| {' | '.join(header)} |", "|" + "---|" * len(header)]
    lines += [f"| {' | '.join(line)} |" for line in body]
    return "\n".join(lines) + f"\n\n{note}\n"


def html(table: str, rows: list[dict]) -> str:
    """The Markdown table's content as a small standalone HTML page (the Snakemake report shows HTML inline)."""
    header, body, note = _layout(rows)
    cells = "".join(f"<th>{escape(h)}</th>" for h in header)
    lines = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in line) + "</tr>" for line in body)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(table)}</title><style>"
            "table{border-collapse:collapse;font-family:sans-serif;font-size:14px}"
            "td,th{border:1px solid #bbb;padding:3px 8px;text-align:right}</style></head><body>"
            f"<table><thead><tr>{cells}</tr></thead><tbody>{lines}</tbody></table>"
            f"<p style='font-family:sans-serif;font-size:13px'>{escape(note)}</p></body></html>\n")


def write_tables(tables: dict[str, list[dict]], paths: Iterable[str | os.PathLike]) -> None:
    """Write `<name>.csv`, `<name>.md` or `<name>.html` for each table to the given paths (matched by file
    name), atomically."""
    for path in map(Path, paths):
        rows = tables[path.stem]
        with atomic_path(path) as tmp:
            if path.suffix == ".csv":
                buf = io.StringIO()
                writer = csv.DictWriter(buf, fieldnames=COLUMNS)
                writer.writeheader()
                writer.writerows(rows)
                tmp.write_text(buf.getvalue())
            elif path.suffix == ".html":
                tmp.write_text(html(path.stem, rows))
            else:
                tmp.write_text(markdown(path.stem, rows))
