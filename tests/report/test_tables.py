"""The paper's numbers, shipped with the package for the tables to compare against."""

import csv


def test_paper_tables_ship_with_the_package():
    from importlib.resources import files

    rows = list(csv.DictReader(files("ddim_eval.report").joinpath("paper_tables.csv").open()))
    assert len(rows) == 75
    assert {r["table"] for r in rows} == {"1", "2", "3"}
    cifar_s100 = [r for r in rows if r["table"] == "1" and r["dataset"] == "cifar10" and r["steps"] == "100"
                  and r["variant"] == "eta=0.0"]
    assert cifar_s100[0]["value"] == "4.16"


def test_entries_beside_the_paper_with_tolerance_marks():
    from ddim_eval.report.tables import html, markdown, paper_values, tidy

    records = [dict(dataset="cifar10", S=100, variant="eta=0.0", spacing="quadratic", n=50000, metric="fid",
                    extractor="inception-v3-compat", value=4.3),  # paper 4.16: within 10%
               dict(dataset="cifar10", S=10, variant="eta=0.0", spacing="quadratic", n=50000, metric="fid",
                    extractor="inception-v3-compat", value=20.0),  # paper 13.36: beyond
               dict(dataset="cifar10", S=20, variant="eta=0.0", spacing="quadratic", n=50000, metric="fid",
                    extractor="digits-cnn", value=5.0)]  # another extractor: never beside the paper's FID
    frame = tidy("table1", records, paper_values())
    assert frame["paper_value"].tolist()[:2] == [4.16, 13.36] and frame["paper_value"].isna().tolist()[2]
    assert abs(frame["difference"][0] - 0.14) < 1e-12 and frame["distinct_timesteps"].tolist() == [96, 10, 20]
    lines = markdown(frame).splitlines()
    assert [cell.strip() for cell in lines[2].split("|")[1:-1]] == ["cifar10", "eta=0.0", "20 (13.36) !", "5",
                                                                    "4.3 (4.16)"]
    assert "In parentheses: the paper's value" in lines[-1]
    assert "<td>20 (13.36) !</td>" in html("table1", frame)


def test_a_sample_set_of_yours_sits_beside_the_paper_value_of_the_entry_it_reproduces():
    """A user's sample set (config `external`) is a row of its own, named by it; with `variant`, the paper's value
    of that entry is set beside it, and its comparison with our cell is unpaired only."""
    import numpy as np

    from ddim_eval.report.comparisons import compare_external, entry_marks
    from ddim_eval.report.tables import comparison_layout, markdown, paper_values, tidy

    ours = dict(dataset="cifar10", S=100, variant="eta=0.0", spacing="quadratic", n=50000, metric="fid",
                extractor="inception-v3-compat", value=4.3)
    mine = dict(dataset="cifar10", S=100, variant="my-ddim", spacing="", n=10000, metric="fid",
                extractor="inception-v3-compat", value=9.0, sample_set="samples/my.npz", paper_variant="eta=0.0")
    frame = tidy("table1", [ours, mine], paper_values())
    assert frame["paper_value"].tolist() == [4.16, 4.16] and frame["sample_set"].tolist() == ["", "samples/my.npz"]
    assert frame["distinct_timesteps"].isna().tolist() == [False, True]
    rng = np.random.default_rng(0)
    record = {"fid": 4.3, "n": 50000, "bootstrap_seed": 0, "replicates": {"fid": (4.3 + rng.normal(0, .1, 200))}}
    theirs = {"fid": 9.0, "n": 10000, "bootstrap_seed": 0, "replicates": {"fid": (9.0 + rng.normal(0, .2, 200))}}
    comparisons = compare_external("table1", {("cifar10", 100, "eta=0.0"): record},
                                   {("cifar10", 100, "my-ddim"): (theirs, "eta=0.0")}, 0.95)
    (c,) = comparisons.itertuples()
    assert (c.kind, c.difference, c.significant) == ("external", 4.7, True) and np.isnan(c.ci_low)
    assert c.unpaired_ci_low < 4.7 < c.unpaired_ci_high
    assert entry_marks(comparisons) == {("cifar10", "fid", 100, "my-ddim"): "‡"}
    assert comparison_layout(comparisons)["difference [paired interval]"].tolist() == ["4.7 (unpaired only)"]
    assert "| cifar10   | my-ddim   | 9 (4.16) ! ‡ |" in markdown(frame, comparisons)
