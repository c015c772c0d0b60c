"""The image figures (samples, consistency, interpolation), Figure 4 and the Markdown summary."""

import numpy as np
import pytest
from PIL import Image

from ddim_eval.experiment.generate import sample_shard
from ddim_eval.models import eps_model_from_unet, get_model_spec, load_unet
from ddim_eval.report import showcase
from ddim_eval.report.figures import (
    fid_figure,
    plain_log_ticks,
    rows_figure,
    samples_figure,
    save_figure,
    timing_figure,
)
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry


@pytest.fixture(scope="module")
def digits_model():
    spec = get_model_spec("digits")
    return spec, eps_model_from_unet(load_unet(spec)), spec.alphas_cumprod()


def test_figures_start_from_the_cells_x_T(digits_model):
    spec, eps, alphas = digits_model
    grid = showcase.sample_grid(eps, "digits", spec.image_shape, alphas, spacing="linear", steps=[5, 10],
                                variants=[0.0, 1.0], n=3)
    assert grid.shape == (2, 2, 3, 1, 8, 8) and grid.dtype == np.uint8
    # eta = 0 is deterministic: the panel is the first images of shard 0 of the S=10, eta=0 cell.
    run = prepare(paper_entry(0.0), 10, alphas, "linear")
    cell, _ = next(sample_shard(eps, "digits", 0, 20, spec.image_shape, run, batch_size=20, progress=False))
    diff = np.abs(grid[0, 1].astype(int) - cell[:3].numpy().astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99  # batch size may move a value by one level
    assert not np.array_equal(grid[0, 1], grid[1, 1])  # eta = 1 adds noise

    rows = showcase.consistency(eps, "digits", spec.image_shape, alphas, spacing="linear", steps=[5, 10], n=3,
                                batch_size=2)  # in batches of 2: the same images
    diff = np.abs(rows.astype(int) - grid[0].swapaxes(0, 1).astype(int))
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99


def test_interpolation_ends_are_the_two_samples(digits_model):
    spec, eps, alphas = digits_model
    images = showcase.interpolation(eps, "digits", spec.image_shape, alphas, spacing="linear", steps=10, pairs=2,
                                    points=5)
    assert images.shape == (2, 5, 1, 8, 8)
    ends = showcase.sample_grid(eps, "digits", spec.image_shape, alphas, spacing="linear", steps=[10],
                                variants=[0.0], n=4)[0, 0]
    for row in range(2):
        for column, k in ((0, 2 * row), (-1, 2 * row + 1)):
            diff = np.abs(images[row, column].astype(int) - ends[k].astype(int))
            assert diff.max() <= 1 and (diff == 0).mean() > 0.95
    assert not np.array_equal(images[0, 2], images[0, 0]) and not np.array_equal(images[0, 2], images[0, -1])
    with pytest.raises(ValueError, match="at least 2 points"):
        showcase.interpolation(eps, "digits", spec.image_shape, alphas, spacing="linear", steps=10, pairs=1, points=1)


def check_written(paths, tmp_path, stem):
    assert [p.name for p in paths] == [f"{stem}.png", f"{stem}.pdf"]
    with Image.open(paths[0]) as image:
        assert image.size[0] > 100 and image.size[1] > 100
    assert paths[1].read_bytes()[:5] == b"%PDF-"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp files left


@pytest.mark.parametrize("channels", [1, 3])
def test_image_figures_render(tmp_path, channels):
    rng = np.random.default_rng(0)
    grid = rng.integers(0, 256, (3, 2, 4, channels, 16, 16), dtype=np.uint8)
    check_written(save_figure(samples_figure(grid, ["eta=0.0", "eta=1.0", "sigma_hat"], [10, 20], "t"),
                              tmp_path / "samples"), tmp_path, "samples")
    check_written(save_figure(rows_figure(grid[0], list("abcd"), "t"), tmp_path / "rows"), tmp_path, "rows")
    with pytest.raises(ValueError, match="2 column labels for 4 columns"):
        rows_figure(grid[0], ["S=10", "S=20"], "t")


def test_timing_figure_renders_rows_of_the_timing_table(tmp_path):
    rows = [{"dataset": d, "S": str(s), "device": "cpu", "fast_path": "fp32", "value": str(h * s)}
            for d, h in (("cifar10", 0.01), ("lsun_bedroom", 0.5)) for s in (10, 20, 50, 100)]
    fig = timing_figure(rows)
    lines = {line.get_label(): line.get_xydata() for line in fig.axes[0].get_lines()}
    np.testing.assert_allclose(lines["cifar10, measured on cpu, fp32"], [[10, 0.1], [20, 0.2], [50, 0.5], [100, 1.0]])
    anchors = [xy for label, xy in lines.items() if "measured" not in label]
    assert sorted(xy[-1, 1] for xy in anchors) == [20.0, 1000.0]  # the paper's hours at S = 1000
    check_written(save_figure(fig, tmp_path / "timing"), tmp_path, "timing")


def _tick_labels(ax) -> list[str]:
    ax.figure.canvas.draw()
    return [t.get_text() for t in ax.get_xticklabels() + ax.get_xticklabels(minor=True) if t.get_text()]


def test_log_axes_read_plain_numbers():
    import matplotlib.pyplot as plt

    rows = [{"dataset": "digits", "S": s, "device": "cpu", "fast_path": "fp32", "value": 0.01 * s} for s in (5, 10, 20)]
    labels = _tick_labels(timing_figure(rows).axes[0])
    assert "1000" in labels and not any("times" in label or "^" in label for label in labels)
    fig, ax = plt.subplots()  # a range under a decade: matplotlib labels its minor ticks "5x10^0" by default
    ax.plot([5, 20], [1, 2])
    ax.set_xscale("log")
    assert any("times" in label for label in _tick_labels(ax))
    plain_log_ticks(ax)
    assert {"6", "10", "20"} <= set(_tick_labels(ax)) and not any("times" in label for label in _tick_labels(ax))
    rows = [{"dataset": "digits", "S": s, "variant": "eta=0", "metric": "fid", "value": 9 / s, "ci_low": 8 / s,
             "ci_high": 10 / s, "extractor": "digits-cnn", "n": 100, "n_boot": 20, "ci_level": 0.95} for s in (5, 10, 20)]
    assert _tick_labels(fid_figure(rows).axes[0]) == ["5", "10", "20"]  # labelled at the S measured, nowhere else
