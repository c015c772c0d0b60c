"""Atomic output files."""

import os
from pathlib import Path

import pytest

from ddim_eval.io import atomic_path, save_json, shard_order


def test_a_finished_file_appears_whole_with_normal_permissions(tmp_path):
    old = os.umask(0o022)
    try:
        path = save_json(tmp_path / "out" / "record.json", {"fid": 1.5})
    finally:
        os.umask(old)
    assert path.read_text() == '{\n  "fid": 1.5\n}\n'
    assert path.stat().st_mode & 0o777 == 0o644  # not mkstemp's private 0600: results are shared on clusters
    assert [p.name for p in path.parent.iterdir()] == ["record.json"]


def test_a_failed_write_leaves_nothing(tmp_path):
    target = tmp_path / "stats.npz"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []


def test_shard_files_are_ordered_by_index_and_gaps_or_repeats_refused():
    paths = [f"cell/shard{k}/features.npz" for k in range(12)]
    assert shard_order(sorted(paths)) == paths  # the shell's glob order puts shard10 before shard2
    assert shard_order(["b.npz", "a.npz"]) == ["b.npz", "a.npz"]  # no shard folders: as given
    with pytest.raises(ValueError, match=r"shards \[1\] are given twice"):
        shard_order(["c/shard0/f.npz", "c/shard1/f.npz", "c/shard1/f.npz"])
    with pytest.raises(ValueError, match=r"shards \[1, 2\] are missing between shard 0 and shard 3"):
        shard_order(["c/shard0/f.npz", "c/shard3/f.npz"])
    with pytest.raises(ValueError, match="some files lie in shard<k> folders and some do not"):
        shard_order(["c/shard0/f.npz", "c/f.npz"])


def test_outputs_are_checked_before_work(tmp_path, monkeypatch):
    """Packaged files (pinned by checksums) are never written, and a read-only folder fails before the work."""
    from ddim_eval.io import PACKAGE, check_output

    with pytest.raises(ValueError, match="lies inside the installed ddim_eval package"):
        with atomic_path(PACKAGE / "models/weights/digits-cnn.safetensors") as tmp:
            tmp.write_bytes(b"x")
    assert check_output(tmp_path / "new/folder/file.json") == tmp_path / "new/folder/file.json"
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != tmp_path)  # as for a read-only tmp_path
    with pytest.raises(ValueError, match=f"cannot write .*: the folder {tmp_path} is not writable"):
        check_output(tmp_path / "new/folder/file.json")


def test_the_command_line_refuses_to_overwrite_packaged_weights(tmp_path):
    from ddim_eval.cli import main
    from ddim_eval.io import PACKAGE

    target = PACKAGE / "models/weights/digits-cnn.safetensors"
    before = target.read_bytes()
    with pytest.raises(SystemExit, match="lies inside the installed ddim_eval package"):
        main(["train-digits-cnn", str(target), "--epochs", "1"])
    assert target.read_bytes() == before
