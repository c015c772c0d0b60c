"""The protocol study's table and figure: for each deviation from the paper's FID protocol, the FID it gives and its
shift from the paper's protocol with the paired interval (`ddim_eval.experiment.protocol_study`)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd

from ddim_eval.io import atomic_path, save_json
from ddim_eval.report.tables import PAGE_STYLE

COLUMNS = ["dataset", "deviation", "setting", "fid", "fid_ci_low", "fid_ci_high", "shift", "shift_ci_low",
           "shift_ci_high", "significant", "fid_inf", "fid_inf_ci_low", "fid_inf_ci_high", "n", "n_ref", "extractor"]


def frame(study: dict[str, Any]) -> pd.DataFrame:
    """The study's rows as a tidy table (COLUMNS, then ci_level and n_boot)."""
    table = pd.DataFrame(study["rows"]).reindex(columns=COLUMNS)
    return table.assign(ci_level=study["ci_level"], n_boot=study["n_boot"])


def _interval(value: float, low: float, high: float, digits: int = 4) -> str:
    return "" if pd.isna(value) else f"{value:.{digits}g} [{low:.3g}, {high:.3g}]"


def layout(study: dict[str, Any]) -> tuple[pd.DataFrame, str]:
    """The readable table (deviation, setting, FID, shift with its paired interval, FID_inf where measured) and
    its note."""
    t = frame(study)
    wide = pd.DataFrame({
        "dataset": t["dataset"], "deviation": t["deviation"], "setting": t["setting"],
        "FID [interval]": [_interval(*v) for v in zip(t["fid"], t["fid_ci_low"], t["fid_ci_high"])],
        "shift [paired interval]": [_interval(*v, digits=3) + (" *" if s is True else "")
                                    for *v, s in zip(t["shift"], t["shift_ci_low"], t["shift_ci_high"],
                                                     t["significant"])]})
    if t["fid_inf"].notna().any():
        wide["FID_inf [interval]"] = [_interval(*v) for v in zip(t["fid_inf"], t["fid_inf_ci_low"],
                                                                  t["fid_inf_ci_high"])]
    if t["dataset"].nunique() == 1:  # the note names it
        wide = wide.drop(columns="dataset")
    paper = t.iloc[0]
    note = (f"{study['dataset']}, DDIM eta = 0 at S = {study['steps']} ({study['cell']}): n = {int(paper['n'])} "
            f"samples against {int(paper['n_ref'])} reference images, {paper['extractor']} features. Shift: FID under "
            "the deviation minus FID under the paper's protocol on the same samples (a sample count: the first k "
            f"samples against all n), with its paired {study['ci_level']:.0%} bootstrap interval over the generated "
            f"samples ({study['n_boot']} resamples, the reference held fixed); * the interval excludes 0. An "
            "extractor's FID is in its own feature space: its shift says how far apart the numbers are, not which "
            "is right. FID_inf: FID extrapolated to infinitely many samples from subsets of the first k.")
    if t["deviation"].isin(["resize", "crop"]).any():
        note += (" A resize or crop row: the reference prepared anew from the downloaded images with that filter or "
                 "crop; on another dataset, that dataset's cell at the same S is the paper's protocol its shift is "
                 "paired with.")
    return wide, note


def markdown(study: dict[str, Any]) -> str:
    wide, note = layout(study)
    return wide.to_markdown(index=False, tablefmt="github", disable_numparse=True) + f"\n\n{note}\n"


def html(study: dict[str, Any]) -> str:
    wide, note = layout(study)
    k = list(wide.columns).index("setting") + 1
    style = PAGE_STYLE + f"td:nth-child({k}),th:nth-child({k}){{text-align:left}}"  # the settings are words
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>protocol study</title><style>{style}</style>"
            f"</head><body>{wide.to_html(index=False, border=0)}<p class='note'>{escape(note)}</p></body></html>\n")


def protocol_figure(study: dict[str, Any]):
    """The shifts as horizontal bars with their paired intervals, one per deviation, the paper's protocol at 0."""
    from ddim_eval.report.figures import plt

    t = frame(study)
    t = t[t["shift"].notna()]  # the paper's protocol rows are the zero line
    several = t["dataset"].nunique() > 1
    labels = [f"{d}: {s}" + (f" ({name})" if several else "") for d, s, name in zip(t["deviation"], t["setting"],
                                                                                   t["dataset"])]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(t) + 1.4))
    y = range(len(t))[::-1]
    errors = [t["shift"] - t["shift_ci_low"], t["shift_ci_high"] - t["shift"]]
    colors = ["tab:red" if s else "tab:gray" for s in t["significant"]]
    ax.barh(list(y), t["shift"], xerr=errors, color=colors, capsize=3)
    ax.set_yticks(list(y), labels, fontsize=7)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(f"FID shift from the paper's protocol ({t['extractor'].iloc[0] if len(t) else ''})")
    ax.set_title(f"Why FIDs disagree: {study['dataset']}, S = {study['steps']}; bars: paired "
                 f"{study['ci_level']:.0%} intervals (red: excludes 0)", fontsize=9)
    fig.tight_layout()
    return fig


def write_protocol(study: dict[str, Any], paths: Iterable[str | os.PathLike]) -> None:
    """Write the study's record (.json), table (.csv, .md, .html) and figure (.png, .pdf) to the given paths,
    atomically."""
    from ddim_eval.report.figures import save_figure

    for path in map(Path, paths):
        if path.suffix == ".json":
            save_json(path, study)
        elif path.suffix == ".csv":
            with atomic_path(path) as tmp:
                frame(study).to_csv(tmp, index=False, lineterminator="\r\n")
        elif path.suffix in (".md", ".html"):
            with atomic_path(path) as tmp:
                tmp.write_text(markdown(study) if path.suffix == ".md" else html(study))
        elif path.suffix == ".png":
            save_figure(protocol_figure(study), path.with_suffix(""))
