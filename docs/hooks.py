"""Build-time content for the docs (mkdocs `hooks:`), so that nothing here is a hand-made copy that can go stale.

A page's Markdown may hold these markers, each replaced before the page is rendered:

- `<!-- api: ddim_eval.sampling -->`: the subpackage's API, one mkdocstrings block per module, listing exactly the
  names its `__init__.py` exports (the subpackages attach their names lazily, which griffe cannot follow).
- `<!-- api-index -->`: every exported name with its home module.
- `<!-- results: NAME -->`: a table of benchmark results read from `benchmarks/results/` (`RESULTS` below); a
  `.md` result file is shown as it is, its caption lines above its table.

It also serves the benchmarks' PNG figures as `results/<name>.png`.
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

from mkdocs.structure.files import File

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
SUBPACKAGES = ("sampling", "models", "data", "metrics", "experiment", "report")
MARKER = re.compile(r"<!-- (api-index|api|results)(?:: ([\w.-]+))? -->")


def exports(package: str) -> tuple[dict[str, list[str]], list[str]]:
    """(module -> exported names, whole modules) of `ddim_eval.<package>`, read from its lazy_loader.attach call."""
    tree = ast.parse((ROOT / "ddim_eval" / package / "__init__.py").read_text())
    call = next(node for node in ast.walk(tree)
                if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "attach")
    args = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    return args.get("submod_attrs", {}), args.get("submodules", [])


def api_blocks(package: str) -> str:
    name = package.removeprefix("ddim_eval.")
    attrs, modules = exports(name)
    blocks = [f"::: {package}\n    options:\n      members: false\n      show_root_heading: false"]
    for module in sorted([*attrs, *modules]):
        only = f"\n    options:\n      members: {json.dumps(sorted(attrs[module]))}" if module in attrs else ""
        blocks.append(f"::: {package}.{module}{only}")
    return "\n\n".join(blocks)


def api_index() -> str:
    """A section per subpackage: each exported name (`from ddim_eval.<package> import <name>`) and its home module."""
    sections = []
    for package in SUBPACKAGES:
        attrs, _ = exports(package)
        rows = [[f"[`{name}`][ddim_eval.{package}.{module}.{name}]", f"`ddim_eval.{package}.{module}`"]
                for module, names in sorted(attrs.items()) for name in sorted(names, key=str.lower)]
        sections += [f"### `ddim_eval.{package}`", "", _table(["name", "home module"], rows), ""]
    return "\n".join(sections)


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(str(c) for c in row) + " |" for row in rows)])


def _load(name: str) -> dict:
    return json.loads((RESULTS_DIR / name).read_text())


def _duration(seconds: float) -> str:
    return f"{seconds * 1e3:.3g} ms" if seconds < 1 else f"{seconds:.3g} s" if seconds < 100 else f"{seconds:.0f} s"


def _seconds(d: dict, key: str) -> str:
    return _duration(d[key]) if key in d else "-"


def _share(x: float) -> str:
    return f"{x:.1%}".replace(".0%", "%")


def bootstrap_cost() -> str:
    """One row per bootstrap_cost*.json: the interval machinery for one 50,000 x 50,000, 2048-d cell."""
    rows = []
    for path in sorted(RESULTS_DIR.glob("bootstrap_cost*.json")):
        d = _load(path.name)
        per = f" ({_duration(d['seconds_per_resample'])} per resample)" if "seconds_per_resample" in d else ""
        fid = _seconds(d, "seconds_fid_bootstrap") + (per if "seconds_fid_bootstrap" in d else "")
        rows.append([f"`{path.name}`", d["device"], f"{d['n']} x {d['d']}, {d['n_boot']}", fid,
                     _seconds(d, "seconds_kid_all_pairs_bootstrap"), _seconds(d, "seconds_kid_torch_fidelity"),
                     _seconds(d, "seconds_fid_infinity"), _seconds(d, "seconds_precision_recall")])
    return _table(["file", "device", "n x d, resamples", "FID bootstrap (float64)", "all-pairs KID with replicates",
                   "torch-fidelity KID (CPU)", "FID_inf with its interval", "precision / recall"], rows)


def _where(path: Path) -> str:
    device = path.stem.rsplit("_", 1)[1]  # the device the file names
    return {"cpu": "CPU", "nvidia-h100": "NVIDIA H100"}.get(device, device)


def coverage() -> str:
    """One row per coverage_n*.json: share of trials whose 95% interval covers the target, and mean widths."""
    rows = []
    for path in sorted(RESULTS_DIR.glob("coverage_n*.json"), key=lambda p: _load(p.name)["n"]):
        d = _load(path.name)
        rows.append([f"{d['n']}, {d['d']} ({d['trials']})", _share(d["coverage_fid"]),
                     _share(d["coverage_fid_percentile"]), _share(d["coverage_paired"]),
                     _share(d["coverage_unpaired"]), f"{d['width_paired']:.2f} / {d['width_unpaired']:.2f}",
                     _where(path)])
    return _table(["n, d (trials)", "FID: ours", "FID: percentile", "paired difference", "unpaired",
                   "width paired / unpaired", "device"], rows)


def coverage_fid_inf() -> str:
    rows = []
    for path in sorted(RESULTS_DIR.glob("coverage_fid_inf_*.json")):
        d = _load(path.name)
        rows.append([f"{d['n']}, {d['d']} ({d['trials']})", _share(d["coverage_fid_inf"]),
                     f"{d['width_fid_inf']:.2f}", f"{d['target_fid_inf']:.2f}", f"{d['mean_fid_inf']:.2f}",
                     f"{d['mean_fid']:.2f}", _where(path)])
    return _table(["n, d (trials)", "FID_inf interval covers the population FID", "mean width", "population FID",
                   "mean FID_inf", "mean FID at n", "device"], rows)


def calibration() -> str:
    """One row per (calibration_*.json, cell or difference): FID's spread over independent shards against the
    bootstrap's."""
    rows = []
    for path in sorted(RESULTS_DIR.glob("calibration_*.json"), key=lambda p: _load(p.name)["n"]):
        d = _load(path.name)
        items = [(f"eta {float(eta):g}", c) for eta, c in d["cells"].items()]
        items += [(f"eta {' - eta '.join(f'{float(e):g}' for e in k.split(' - '))}", c)
                  for k, c in d["differences"].items()]
        for label, c in items:
            rows.append([f"{d['model']}, S = {d['S']}", f"{d['n']} ({d['shards']})", label, f"{c['mean']:.2f}",
                         f"{c['sd_over_shards']:.2f}", f"{c['bootstrap_sd']:.2f}", f"{c['ratio']:.2f}",
                         f"{c['coverage_of_shard_mean']:.0%}",
                         f"{c['significant_share']:.0%}" if " - " in label else "-"])
    return _table(["model, S", "n (shards)", "FID of", "mean over shards", "sd over shards", "bootstrap sd",
                   "ratio", "intervals covering the mean", "shards finding it significant"], rows)


def result_file(name: str) -> str:
    """A benchmark's own Markdown output: its caption lines (indented ones are commands), a blank line, the rest."""
    text = (RESULTS_DIR / name).read_text().splitlines()
    first = next(i for i, line in enumerate(text) if line.startswith("|"))
    caption, commands = [], []
    for line in text[:first]:
        (commands if line.startswith(" ") else caption).append(line.strip())
    code = ["```bash", *commands, "```", ""] if commands else []
    return "\n".join([f"`{name}`: " + " ".join(filter(None, caption)), "", *code, *text[first:]])


RESULTS = {"bootstrap_cost": bootstrap_cost, "coverage": coverage, "coverage_fid_inf": coverage_fid_inf,
           "calibration": calibration}


def _expand(match: re.Match) -> str:
    kind, arg = match.groups()
    if kind == "api":
        return api_blocks(arg)
    if kind == "api-index":
        return api_index()
    return result_file(arg) if arg.endswith(".md") else RESULTS[arg]()


def on_page_markdown(markdown: str, **kwargs) -> str:
    return MARKER.sub(_expand, markdown)


def on_files(files, config, **kwargs):
    """The benchmarks' figures, served as results/<name>.png (pages link them there)."""
    for path in sorted(RESULTS_DIR.glob("*.png")):
        files.append(File.generated(config, f"results/{path.name}", abs_src_path=str(path)))
    return files
