"""The package's shape: no import cycles, small modules and functions, public names that resolve, and a DAG build
that does not import torch."""

import ast
import importlib
import subprocess
import sys

import pytest

from helpers import ROOT

PACKAGE = ROOT / "ddim_eval"
MAX_MODULE_LINES = 300
MAX_FUNCTION_LINES = 60
SUBPACKAGES = ["sampling", "models", "data", "metrics", "experiment", "report", "cli"]


def module_name(path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _lazy_submodules(tree: ast.Module, package: str) -> set[str]:
    """The submodules a package's `lazy.attach(...)` names: importing any of its names imports them."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "attach":
            names = set()
            for kw in node.keywords:
                value = ast.literal_eval(kw.value)
                names |= set(value) if kw.arg == "submodules" else set(value.keys())
            return {f"{package}.{n}" for n in names}
    return set()


def imports_of(name: str) -> set[str]:
    """The first-party modules `name` imports anywhere in its body (deferred imports count: they are design
    dependencies all the same)."""
    tree = ast.parse(MODULES[name].read_text())
    found = _lazy_submodules(tree, name) if MODULES[name].name == "__init__.py" else set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("ddim_eval")}
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("ddim_eval"):
            for a in node.names:
                submodule = f"{node.module}.{a.name}"
                found.add(submodule if submodule in MODULES else node.module)
    return found & MODULES.keys()


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if nxt not in state and (cycle := visit(nxt, path + [nxt])):
                return cycle
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [start])):
            return cycle
    return None


def test_no_import_cycle():
    graph = {name: imports_of(name) - {name} for name in MODULES}
    assert find_cycle(graph) is None, f"import cycle: {' -> '.join(find_cycle(graph))}"
    # The check sees cycles: the one this layout broke (checkpoints -> features -> digits_cnn -> checkpoints).
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_modules_and_functions_are_small():
    long_modules, long_functions = [], []
    for name, path in MODULES.items():
        text = path.read_text()
        if len(text.splitlines()) > MAX_MODULE_LINES:
            long_modules.append(f"{name} ({len(text.splitlines())} lines)")
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{name}.{node.name} ({length} lines)")
    assert not long_modules and not long_functions, (long_modules, long_functions)


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_public_names_resolve(package):
    module = importlib.import_module(f"ddim_eval.{package}")
    assert module.__doc__ and module.__all__
    for name in module.__all__:
        assert getattr(module, name) is not None, f"ddim_eval.{package}.{name}"


def test_readme_import_paths_work():
    from ddim_eval import metrics, models
    from ddim_eval.sampling import encode, sample, slerp
    from ddim_eval.sampling.times import timesteps

    assert callable(models.eps_model_from_unet) and callable(metrics.fid)
    assert all(callable(f) for f in (encode, sample, slerp)) and timesteps(10)[:2] == [0, 100]


HEAVY = ("torch", "torchvision", "torch_fidelity", "diffusers")  # seconds of imports each, in every job


def heavy_imports(code: str) -> list[str]:
    """The HEAVY modules a fresh Python process has loaded after running `code`."""
    code += f"\nimport sys; print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    return ast.literal_eval(result.stdout.strip().splitlines()[-1])


def test_the_dag_build_imports_no_torch():
    """What common.smk imports (the experiment, its config checks, the sampler registry, data sources) stays light."""
    assert heavy_imports("import yaml\n"
                         "from ddim_eval import experiment\n"
                         "from ddim_eval.sampling.samplers import paper_entry\n"
                         "from ddim_eval.data import celeba, lsun\n"
                         f"config = yaml.safe_load(open({str(ROOT / 'config/config.yaml')!r}))\n"
                         "experiment.check_config(config); experiment.fid_cells(config); experiment.model_spec(config, 'digits')\n"
                         "experiment.CELL_DIR") == []


def test_report_and_cell_metric_jobs_skip_the_heavy_imports():
    """Every workflow job is a fresh process: the tables, summary and plots need no torch, and a cell's metrics
    without torch-fidelity's KID or precision / recall need no torch-fidelity."""
    assert heavy_imports("import ddim_eval.report.tables, ddim_eval.report.sampler_study, ddim_eval.report.summary\n"
                         "import ddim_eval.report.figures") == []
    assert heavy_imports("import ddim_eval.cli.main, ddim_eval.metrics.scores, ddim_eval.metrics.features") == ["torch"]


# Lowest first: a module may import from its own layer and the layers below it, never from a layer above.
LAYERS = [{"ddim_eval.fetch", "ddim_eval.io", "ddim_eval.wallclock"}, {"ddim_eval.sampling"}, {"ddim_eval.data"},
          {"ddim_eval.models"}, {"ddim_eval.metrics"}, {"ddim_eval.experiment"}, {"ddim_eval.report"}, {"ddim_eval.cli"}]


def layer_of(module: str) -> int:
    for i, layer in enumerate(LAYERS):
        if any(module == top or module.startswith(top + ".") for top in layer):
            return i
    raise KeyError(module)


def upward_imports() -> list[str]:
    return [f"{name} -> {imp}" for name in MODULES if name != "ddim_eval"
            for imp in sorted(imports_of(name)) if imp != "ddim_eval" and layer_of(imp) > layer_of(name)]


def test_imports_run_downwards():
    assert all(name == "ddim_eval" or layer_of(name) >= 0 for name in MODULES)  # every module has a layer
    assert upward_imports() == []
    # The check sees an upward import: the one this layout removed (models.batch_size -> metrics.timing).
    assert layer_of("ddim_eval.metrics.timing") > layer_of("ddim_eval.models.batch_size")
