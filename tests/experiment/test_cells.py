"""Config checks that need the model registry (the schema's are tested through Snakemake in test_workflow)."""

import copy

import pytest
import yaml
from snakemake.utils import validate

from ddim_eval import experiment

from helpers import ROOT


def load(name: str) -> dict:
    """A shipped config as the workflow sees it: validated, with the schema's defaults filled in."""
    config = yaml.safe_load((ROOT / "config" / name).read_text())
    validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    return config


@pytest.mark.parametrize("name", ["config.yaml", "paper.yaml", "paper-quick.yaml"])
def test_shipped_configs_pass(name):
    experiment.check_config(load(name))


def test_paper_grid_cells():
    config = load("paper.yaml")
    cells = experiment.fid_cells(config)
    # Table 1: 2 datasets x 5 S x 5 variants; Table 3: 2 LSUN datasets x 4 S x eta {0, 1}; none shared.
    assert len(cells) == 50 + 16
    assert {(c.dataset, c.spacing) for c in cells} == {("cifar10", "quadratic"), ("celeba", "linear"),
                                                       ("lsun_bedroom", "linear"), ("lsun_church", "linear")}
    assert experiment.shards(config) == [(k, 5000) for k in range(10)]
    assert len(experiment.recon_runs(config)) == 7
    assert experiment.data_path(config, "lsun_church", "train") == "resources/lsun_church_outdoor/train.npy"
    assert experiment.max_images(config, "lsun_church_outdoor") == 50000 and experiment.max_images(config, "celeba") is None


def paper() -> dict:
    return copy.deepcopy(load("paper.yaml"))


def test_lsun_needs_an_image_limit():
    config = paper()
    del config["datasets"]["lsun_bedroom"]["max_images"]
    with pytest.raises(ValueError, match="datasets.lsun_bedroom.max_images: LSUN needs a limit"):
        experiment.check_config(config)


def test_datasets_sharing_a_source_share_its_limit():
    config = paper()
    config["datasets"]["church2"] = config["datasets"]["lsun_church"] | {"max_images": 1000}
    with pytest.raises(ValueError, match="source 'lsun_church_outdoor' share its prepared files.*\\[1000, 50000\\]"):
        experiment.check_config(config)


def test_a_split_the_source_lacks():
    config = paper()
    config["datasets"]["lsun_church"]["recon_split"] = "test"
    with pytest.raises(ValueError, match="datasets.lsun_church.recon_split: source 'lsun_church_outdoor' has no "
                                         "split 'test'; allowed: \\['train'\\]"):
        experiment.check_config(config)


def test_figure_steps_above_T():
    config = load("config.yaml")
    config["figures"]["interpolation"]["steps"] = 2000
    with pytest.raises(ValueError, match="figures.interpolation.steps: \\[2000\\] exceed T = 1000"):
        experiment.check_config(config)
    config = load("config.yaml")
    config["figures"]["datasets"] = ["celeba"]
    with pytest.raises(ValueError, match="figures.datasets: unknown dataset 'celeba'"):
        experiment.check_config(config)
