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
