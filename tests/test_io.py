"""Atomic output files."""

import os

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
