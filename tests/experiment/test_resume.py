"""Resumable shards: a shard killed between batches resumes after its last finished batch, and its outputs are the
same bytes as those of an uninterrupted run."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from ddim_eval.experiment.generate import generate_cell
from ddim_eval.io import PARTIAL
from ddim_eval.metrics.extractors import load_extractor
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry
from ddim_eval.sampling.schedule import make_alphas_cumprod

OUTPUTS = ("features.npz", "stats.npz", "samples.npz")
SAMPLE = [sys.executable, "-m", "ddim_eval.cli", "sample", "digits", "--nfe", "100", "--n", "300",
          "--batch-size", "50", "--extractor", "digits-cnn", "--keep-samples"]


def run_sample(out, eta) -> subprocess.Popen:
    sampler = f"{{name: ddim, params: {{eta: {eta}}}}}"
    return subprocess.Popen([*SAMPLE[:5], str(out), *SAMPLE[5:], "--sampler", sampler], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("eta", [0.0, 1.0])
def test_a_sigkilled_sample_resumes_to_the_same_bytes(tmp_path, eta):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    proc = run_sample(killed, eta)
    deadline = time.monotonic() + 120
    while len(list((killed / PARTIAL).glob("batch*.npz"))) < 2:  # 2 of 6 batches committed
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    committed = len(list((killed / PARTIAL).glob("batch*.npz")))
    assert 2 <= committed < 6 and not any((killed / name).exists() for name in OUTPUTS)

    resumed = run_sample(killed, eta)
    _, err = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, err[-2000:]
    assert f"resuming after {committed} finished batch(es) of 50" in err
    uninterrupted = run_sample(whole, eta)
    assert uninterrupted.wait(timeout=300) == 0
    for name in OUTPUTS:
        assert (killed / name).read_bytes() == (whole / name).read_bytes(), name
    assert json.loads((killed / "timing.json").read_text())["resumed_batches"] == committed
    assert not (killed / PARTIAL).exists() and not (whole / PARTIAL).exists()


def _cell(out, model, batch_size=4, **kwargs):
    return generate_cell(model, "digits", out, shape=(1, 8, 8),
                         run=prepare(paper_entry(1.0), 5, make_alphas_cumprod(), "linear"), n=10, shard=0, extractor=load_extractor("digits-cnn"),
                         batch_size=batch_size, progress=False, **kwargs)


def _smooth(x, t):
    return 0.1 * x


def _fails_in_batch_two():
    """A model that is preempted at its sixth call: the first call of the second batch (5 steps per batch)."""
    calls = []

    def model(x, t):
        calls.append(1)
        if len(calls) > 5:
            raise RuntimeError("preempted")
        return _smooth(x, t)

    return model


def test_an_error_mid_shard_keeps_the_finished_batches(tmp_path, capfd):
    with pytest.raises(RuntimeError, match="preempted"):
        _cell(tmp_path / "cell", _fails_in_batch_two())
    assert sorted(p.name for p in (tmp_path / "cell" / PARTIAL).iterdir()) == ["batch000000.npz", "settings.json"]
    record = _cell(tmp_path / "cell", _smooth)
    # Batches of 4, 4, 2: the timing leaves out each process's first batch (warm-up), so only the last is timed.
    assert record["resumed_batches"] == 1 and record["images"] == 2
    _cell(tmp_path / "whole", _smooth)
    for name in ("features.npz", "stats.npz"):
        assert (tmp_path / "cell" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_progress_made_with_other_settings_is_discarded(tmp_path, capfd):
    with pytest.raises(RuntimeError):
        _cell(tmp_path / "cell", _fails_in_batch_two())
    record = _cell(tmp_path / "cell", _smooth, batch_size=5)  # another batch size: other per-batch noise
    assert record["resumed_batches"] == 0
    assert "progress made with other settings; starting the shard over" in capfd.readouterr().err
    _cell(tmp_path / "whole", _smooth, batch_size=5)
    assert (tmp_path / "cell/features.npz").read_bytes() == (tmp_path / "whole/features.npz").read_bytes()
    assert os.listdir(tmp_path / "cell") == os.listdir(tmp_path / "whole")


def test_outputs_of_other_settings_are_removed_before_new_work(tmp_path, capfd):
    """Complete outputs of one setting, then a run of another that stops mid-shard: the old outputs are gone while
    the new work is unfinished, and merging the folder's statistics is refused until it finishes."""
    from ddim_eval.cli.main import main

    _cell(tmp_path / "shard0", _smooth, keep_samples=True)
    with pytest.raises(RuntimeError, match="preempted"):
        _cell(tmp_path / "shard0", _fails_in_batch_two(), batch_size=5)
    assert "removing an earlier run's outputs before new work: features.npz, stats.npz, timing.json, samples.npz" \
        in capfd.readouterr().err
    assert sorted(os.listdir(tmp_path / "shard0")) == [PARTIAL]
    (tmp_path / "shard0/stats.npz").write_bytes(b"an old file copied back")
    with pytest.raises(SystemExit, match=r"shard0/stats.npz: its folder holds unfinished work \(.partial/\)"):
        main(["merge-stats", str(tmp_path / "shard0/stats.npz"), str(tmp_path / "merged.npz")])
    assert not (tmp_path / "merged.npz").exists()
