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
