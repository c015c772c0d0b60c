"""The paired comparisons a table implies, each with its interval and whether it is significant.

Cells of one dataset start sample i from the same x_T and are resampled with the same bootstrap indices (Table 2:
the same images at every S, resampled alike), so the difference of two entries' replicates is a paired bootstrap
of their difference. Compared: within a variant, each S
against the previous S; at each S, each variant against eta = 0 and against the variant listed before it (so that
an ordering such as eta 0 < eta 1 < sigma_hat can be read off). Each comparison is tested at the run's level on
its own, not corrected for the many comparisons of a table.
"""

from __future__ import annotations

import pandas as pd

from ddim_eval.metrics.bootstrap import paired_difference, replicated, unpaired_difference

BASELINE = "eta=0.0"
# The metrics whose bootstrap replicates cells (and Table 2's reconstructions) keep.
INTERVAL_METRICS = ("fid", "fid_inf", "kid_all_pairs", "recon_mse")
COLUMNS = ["table", "dataset", "metric", "kind", "S", "variant", "vs_S", "vs_variant", "difference", "ci_low",
           "ci_high", "significant", "unpaired_ci_low", "unpaired_ci_high", "ci_level", "n_boot"]
# The mark an entry gets when it differs from eta = 0 / from the previous S / (a user's sample set) from our cell.
MARKS = {"variant": "*", "S": "†", "external": "‡"}
MARK_NOTE = ("* differs from eta=0.0 at the same S, † differs from the previous S (paired bootstrap, each "
             "comparison at the stated level)")
EXTERNAL_MARK_NOTE = ("‡ a sample set of yours differs from our cell it is compared with (unpaired: no shared x_T; at "
                      "the stated level)")


def _pairs(cells: list[tuple[int, str]], baseline: str) -> list[tuple[str, tuple, tuple]]:
    """(kind, (S, variant), (vs S, vs variant)) for every comparison of one dataset's cells (a sampler study's
    samplers may each have their own budgets: only cells that exist are compared), in table order."""
    variants = list(dict.fromkeys(v for _, v in cells))
    steps = {v: sorted(s for s, w in cells if w == v) for v in variants}
    pairs = [("S", (s, v), (prev, v)) for v in variants for prev, s in zip(steps[v], steps[v][1:])]
    against = [(v, baseline) for v in variants if baseline in variants and v != baseline]
    against = list(dict.fromkeys(against + list(zip(variants[1:], variants))))  # (0.2, 0.0) once
    present = set(cells)
    return pairs + [("variant", (s, v), (s, vs)) for s in sorted({s for s, _ in cells}) for v, vs in against
                    if (s, v) in present and (s, vs) in present]


def compare_cells(table: str, records: dict[tuple[str, int, str], dict], level: float,
                  baseline: str = BASELINE) -> pd.DataFrame:
    """Every comparison of a table, from its entries' records keyed by (dataset, S, variant): metrics records of
    FID cells, or Table 2's reconstruction records. (The sampler study keys them by (dataset, NFE, sampler), with
    its first sampler as the baseline.)"""
    rows = []
    for dataset in dict.fromkeys(d for d, _, _ in records):
        cells = {(s, v): r for (d, s, v), r in records.items() if d == dataset}
        metrics = [m for m in INTERVAL_METRICS if all(m in r.get("replicates", {}) for r in cells.values())]
        for metric in metrics:
            for kind, a, b in _pairs(list(cells), baseline):
                first, second = replicated(cells[a], metric), replicated(cells[b], metric)
                paired, unpaired = paired_difference(first, second, level), unpaired_difference(first, second, level)
                rows.append({"table": table, "dataset": dataset, "metric": metric, "kind": kind, "S": a[0],
                             "variant": a[1], "vs_S": b[0], "vs_variant": b[1], **paired,
                             "unpaired_ci_low": unpaired["ci_low"], "unpaired_ci_high": unpaired["ci_high"],
                             "ci_level": level, "n_boot": len(first.replicates)})
    return pd.DataFrame(rows, columns=COLUMNS)


def compare_external(table: str, records: dict[tuple[str, int, str], dict],
                     external: dict[tuple[str, int, str], tuple[dict, str]], level: float) -> pd.DataFrame:
    """Each user's sample set, keyed by (dataset, S, name) with (its metrics record, the variant of ours it is
    compared with), against our entry of that variant at its S where the run has one: unpaired (its samples share
    no x_T with ours), so the paired interval is left empty and significance is the unpaired interval's."""
    rows = []
    for (dataset, s, name), (record, vs) in external.items():
        ours = records.get((dataset, s, vs))
        metrics = [m for m in INTERVAL_METRICS if ours and m in record["replicates"] and m in ours["replicates"]]
        for metric in metrics:
            first = replicated(record, metric)
            unpaired = unpaired_difference(first, replicated(ours, metric), level)
            rows.append({"table": table, "dataset": dataset, "metric": metric, "kind": "external", "S": s,
                         "variant": name, "vs_S": s, "vs_variant": vs, "difference": unpaired["difference"],
                         "significant": unpaired["significant"], "unpaired_ci_low": unpaired["ci_low"],
                         "unpaired_ci_high": unpaired["ci_high"], "ci_level": level, "n_boot": len(first.replicates)})
    return pd.DataFrame(rows, columns=COLUMNS)


def combined(*frames: pd.DataFrame) -> pd.DataFrame:
    """Comparisons of several kinds (paired, a user's sample sets') as one frame; an empty one adds nothing."""
    return pd.concat([f for f in frames if len(f)] or frames[:1], ignore_index=True)


def entry_marks(comparisons: pd.DataFrame, baseline: str = BASELINE) -> dict[tuple[str, str, int, str], str]:
    """(dataset, metric, S, variant) -> its marks: '*' (differs from the baseline, eta = 0) and/or '†' (from the
    previous S); a user's sample set '‡' (from our cell)."""
    marks: dict[tuple[str, str, int, str], str] = {}
    significant = comparisons[comparisons["significant"].astype(bool)]
    for r in significant.itertuples():
        if r.kind in ("S", "external") or r.vs_variant == baseline:
            key = (r.dataset, r.metric, r.S, r.variant)
            marks[key] = "".join(sorted(marks.get(key, "") + MARKS[r.kind], key="*†‡".index))
    return marks
