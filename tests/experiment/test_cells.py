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


TEST_SPLIT = {"name": "mine", "path": "resources/digits/test.npy", "dataset": "digits", "table": "table1", "S": 10}


@pytest.mark.parametrize("edit, message", [
    ({"external": [TEST_SPLIT | {"table": "table3", "dataset": "cifar10"}]},
     r"external\[0\].dataset: 'cifar10' is not a dataset of table3 \(its datasets: \['digits'\]\)"),
    ({"external": [TEST_SPLIT, TEST_SPLIT]}, r"external\[1\].name: 'mine' names two sample sets"),
    ({"external": [TEST_SPLIT | {"variant": -1}]}, r"external\[0\].variant: sampler 'ddim'.eta: -1 is not allowed"),
    ({"external": [TEST_SPLIT | {"table": "samplers", "variant": 0.0}]},
     r"external\[0\].variant: the sampler study's rows have no variant"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "spacing": "linear"}},
     r"protocol_study.spacing: 'linear' is the spacing of 'digits''s cells already"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "spacing": "cosine"}},
     r"protocol_study.spacing: spacing 'cosine' is not one of"),
    ({"protocol_study": {"dataset": "mnist", "steps": 10}}, r"protocol_study.dataset: unknown dataset 'mnist'"),
    ({"protocol_study": {"dataset": "digits", "steps": 2000}}, r"protocol_study.steps: 2000 exceeds T = 1000"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "sample_counts": [250, 2500]}},
     r"protocol_study.sample_counts: \[2500\] are not fewer than n_samples = 2500"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "reference_split": "train"}},
     r"protocol_study.reference_split: 'train' is not another split of 'digits'"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "reference_split": "valid"}},
     r"protocol_study.reference_split: 'valid' is not another split of 'digits' \(its reference: 'train'; its "
     r"splits: \['train', 'test'\]\)"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "checkpoint": "cifar"},
      "datasets": {"digits": {"model": "digits", "source": "digits", "reference_split": "train", "recon_split": "test"},
                   "cifar": {"model": "cifar10", "source": "cifar10", "reference_split": "train"}}},
     r"protocol_study.checkpoint: dataset 'cifar' \(model 'cifar10'\) is not 'digits''s network with other weights"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "resize_filters": ["bicubic"]}},
     r"protocol_study.resize_filters: dataset 'digits' has source 'digits'; they apply to the sources \['celeba', "
     r"'lsun_bedroom', 'lsun_church_outdoor'\] only"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "resize_filters": ["bilinear", "area"]}},
     r"protocol_study.resize_filters: \['bilinear', 'area'\]: allowed \['bicubic', 'lanczos', 'box', 'nearest', "
     r"'bilinear-aliased'\] \(the paper's 'bilinear' is what each row is compared with\)"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "celeba_crops": ["center-140"]}},
     r"protocol_study.celeba_crops: dataset 'digits' has source 'digits'; they apply to the sources \['celeba'\] "
     r"only"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "celeba_crops": ["center-64"]}},
     r"protocol_study.celeba_crops: \['center-64'\]: allowed \['center-140', 'center-108', 'center-178'\]"),
    ({"protocol_study": {"dataset": "digits", "steps": 10, "resize_filters": ["box"], "resize_dataset": "faces"}},
     r"protocol_study.resize_dataset: unknown dataset 'faces'; defined under datasets: \['digits'"),
])
def test_bad_external_sets_and_protocol_studies_are_named(edit, message):
    """What the schema cannot see of `external` and `protocol_study` (the DAG build refuses them the same way:
    tests/workflow/test_workflow.py::test_bad_config_fails_before_any_job runs two through Snakemake)."""
    config = load("config.yaml") | copy.deepcopy(edit)
    validate(config, str(ROOT / "workflow/schemas/config.schema.yaml"))
    with pytest.raises(ValueError, match=message):
        experiment.check_config(config)


def test_a_protocol_studys_unknown_extractor_is_named():
    config = load("config.yaml")
    config["protocol_study"]["extractors"] = [{"name": "digit-cnn"}]
    with pytest.raises(ValueError, match=r"protocol_study.extractors\[0\]: unknown feature extractor 'digit-cnn' "
                                         r"\(did you mean 'digits-cnn'\?\)"):
        experiment.check_extractor(config)


def test_the_paper_studys_resize_rows_read_table_1s_celeba_cell():
    """CIFAR-10 is not resized, so the paper plan's resize filters score CelebA's Table 1 cell at S = 100 (no cell
    of its own), and the study reads that cell's features."""
    config = load("paper.yaml")
    cells = experiment.protocol_cells(config)
    assert cells["resize"] == experiment.Cell("celeba", 100, "ddim", "linear")
    assert cells["resize"] in experiment.fid_cells(config)
    inputs = experiment.protocol_inputs(config, "results/paper")
    assert "results/paper/cells/celeba/linear/NFE100/ddim/shard0/features.npz" in inputs
    assert "resize" not in experiment.protocol_cells(load("config.yaml"))
