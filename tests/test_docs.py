"""The documentation site: `mkdocs build --strict` passes (no broken link, anchor, include or API reference), the API
pages document every name the subpackages export, the paper page holds the plan the workflow tests check, and the
README's links into docs/ name files that exist."""

import importlib.util
import os
import re
import subprocess
import sys

import pytest

from helpers import ROOT


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(out)], cwd=ROOT,
                            capture_output=True, text=True, env=os.environ | {"NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return out


def page(site, name: str) -> str:
    return (site / name / "index.html").read_text()


def documented(html: str) -> set[str]:
    """The objects mkdocstrings rendered on a page, by their full path (the heading ids)."""
    return set(re.findall(r'id="(ddim_eval\.[\w.]+)"', html))


def test_the_site_builds_strictly(site):
    assert (site / "index.html").exists() and (site / "results/convergence_order.png").exists()


def test_api_pages_document_the_public_names(site):
    expected = {"api/sampling": ["ddim_eval.sampling.ddim.sample", "ddim_eval.sampling.ddim.encode",
                                 "ddim_eval.sampling.times.timesteps", "ddim_eval.sampling.oracle.GaussianMixture"],
                "api/models": ["ddim_eval.models.checkpoints.load_unet", "ddim_eval.models.registry.load_registry"],
                "api/metrics": ["ddim_eval.metrics.distances.fid", "ddim_eval.metrics.features.extract",
                                "ddim_eval.metrics.stats.load_stats"],
                "api/data": ["ddim_eval.data.arrays.load_images"],
                "api/fetch-io": ["ddim_eval.fetch.FetchError", "ddim_eval.fetch.download"]}
    for name, objects in expected.items():
        html = page(site, name)
        assert set(objects) <= documented(html), name
    # The docstring is rendered, not only the name.
    assert "Generate x_0 from x_T" in page(site, "api/sampling")


def test_every_exported_name_has_its_documentation(site):
    """The API pages follow each subpackage's lazy exports (docs/hooks.py); none is left out."""
    spec = importlib.util.spec_from_file_location("docs_hooks", ROOT / "docs/hooks.py")
    hooks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(hooks)
    for package in hooks.SUBPACKAGES:
        html = page(site, f"api/{package}")
        attrs, modules = hooks.exports(package)
        names = {f"ddim_eval.{package}.{module}.{name}" for module, names in attrs.items() for name in names}
        assert names <= documented(html), sorted(names - documented(html))
        assert {f"ddim_eval.{package}.{module}" for module in modules} <= documented(html)
    index = page(site, "api")
    assert "ddim_eval.sampling.times.timesteps" in index and "ddim_eval.models.unet.build_unet" in index


def test_the_paper_page_holds_the_paper_plan(site):
    source = (ROOT / "docs/paper.md").read_text()
    assert "| sample_shard | 2140 |" in source and "| total | 2402 |" in source
    assert re.search(r"<td>sample_shard</td>\s*<td>2140</td>", page(site, "paper"))


def test_readme_links_into_docs_name_existing_files():
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\(\s*(?:\./)?(docs/[^)#\s]*)", readme) + re.findall(r"^\[[^\]]+\]:\s*(docs/[^#\s]*)",
                                                                            readme, re.MULTILINE)
    missing = [link for link in links if not (ROOT / link).is_file()]
    assert not missing, f"README.md links to {missing}, which do not exist"
