"""The sampler study's table from a run's result files: per-sampler budgets, the comparisons that exist, and the
published values beside the entries they match."""

import json

import numpy as np
import yaml

from helpers import ROOT


def _config():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config["datasets"]["cifar10"] = {"model": "cifar10", "source": "cifar10", "reference_split": "train"}
    config["samplers"] = {"datasets": ["cifar10"], "nfe": [10, 12],
                          "samplers": ["ddim", "dpm_solver", {"name": "fpndm", "nfe": [13]}]}
    return config


def _write_cells(config, out, rng):
    from ddim_eval.experiment import cells

    for study in cells.study_cells(config):
        folder = out / study.cell.path
        (folder / "shard0").mkdir(parents=True, exist_ok=True)
        replicates = (rng.normal(10, 1, 50)).tolist()
        value = float(np.mean(replicates))
        (folder / "metrics.json").write_text(json.dumps({
            "extractor": "inception-v3-compat", "n": 100, "fid": value, "fid_ci_low": value - 2,
            "fid_ci_high": value + 2, "ci_level": 0.95, "n_boot": 50, "bootstrap_seed": 0,
            "replicates": {"fid": replicates}}))
        (folder / "shard0/timing.json").write_text(json.dumps({"network_evals": study.budget}))


def test_study_table_with_per_sampler_budgets_and_published_values(tmp_path):
    from ddim_eval.report.sampler_study import collect_study, markdown

    config = _config()
    _write_cells(config, tmp_path, np.random.default_rng(0))
    published = tmp_path / "published.csv"
    published.write_text(
        "dataset,sampler,params,nfe,steps,spacing,value,metric,fid_code,source,verified,note\n"
        'cifar10,dpm_solver,"{""order"": 3}",12,5,logSNR,4.9,fid,x,unverified source,no,\n'
        'cifar10,dpm_solver,"{""order"": 3, ""method"": ""fast""}",12,5,logSNR,4.65,fid,x,verified source,yes,\n'
        'cifar10,dpm_solver,"{""order"": 2}",10,5,logSNR,9.9,fid,x,other order,yes,\n')
    tables = collect_study(config, str(tmp_path), published)
    rows = tables["samplers"]
    assert list(zip(rows["sampler"], rows["nfe_budget"])) == [("ddim", 10), ("ddim", 12), ("dpm_solver", 10),
                                                              ("dpm_solver", 12), ("fpndm", 13)]
    # The verified one of two matching rows; a row with other parameters never matches.
    dpm = rows[rows["sampler"] == "dpm_solver"].set_index("nfe_budget")
    assert dpm.loc[12, "published_value"] == 4.65 and "verified source" in dpm.loc[12, "published_source"]
    assert "1 other published value" in dpm.loc[12, "published_source"] and np.isnan(dpm.loc[10, "published_value"])
    # Only cells that exist are compared: F-PNDM has no budget in common with DDIM, only its own single budget.
    c = tables["samplers_comparisons"]
    pairs = set(zip(c["kind"], c["sampler"], c["nfe_budget"], c["vs_sampler"], c["vs_nfe_budget"]))
    assert pairs == {("S", "ddim", 12, "ddim", 10), ("S", "dpm_solver", 12, "dpm_solver", 10),
                     ("variant", "dpm_solver", 10, "ddim", 10), ("variant", "dpm_solver", 12, "ddim", 12)}
    table = markdown(rows, c)
    assert "| NFE=10" in table and "NFE=13" in table and "(4.65)" in table


def test_a_sample_set_of_yours_is_a_line_of_the_study_compared_unpaired(tmp_path):
    """A user's sample set (config `external`, table `samplers`): a line of its own at its NFE, compared with the
    study's first sampler at that budget, unpaired only (its samples share no x_T with ours)."""
    from ddim_eval.experiment import cells
    from ddim_eval.report.sampler_study import collect_study, markdown

    config = _config() | {"external": [{"name": "mine", "path": "mine.npz", "dataset": "cifar10",
                                        "table": "samplers", "S": 10}]}
    rng = np.random.default_rng(1)
    _write_cells(config, tmp_path, rng)
    record = {"extractor": "inception-v3-compat", "n": 80, "fid": 30.0, "fid_ci_low": 28.0, "fid_ci_high": 32.0,
              "ci_level": 0.95, "n_boot": 50, "bootstrap_seed": 0, "replicates": {"fid": rng.normal(30, 1, 50).tolist()}}
    (tmp_path / "external/mine").mkdir(parents=True)
    (tmp_path / cells.EXTERNAL_PATH.format(name="mine")).write_text(json.dumps(record))
    tables = collect_study(config, str(tmp_path))
    mine = tables["samplers"].set_index("sampler").loc["mine"]
    assert (mine["nfe_budget"], mine["value"], mine["sample_set"]) == (10, 30.0, "mine.npz")
    assert set(tables["samplers"].set_index("sampler").drop(index="mine")["sample_set"]) == {""}
    c = tables["samplers_comparisons"]
    (external,) = c[c["kind"] == "external"].itertuples()
    assert (external.sampler, external.vs_sampler, external.nfe_budget, external.significant) == ("mine", "ddim", 10,
                                                                                                    True)
    assert np.isnan(external.ci_low) and external.unpaired_ci_low > 0
    assert "your samples: mine.npz (mine, n/a)" in markdown(tables["samplers"], c) and "‡" in markdown(
        tables["samplers"], c)
