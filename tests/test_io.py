"""Atomic output files."""

import os

import pytest

from ddim_eval.io import atomic_path, save_json


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
