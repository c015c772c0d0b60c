"""Downloads (resume, restart, verify, offline) and the cache, against a local server."""

import pytest

from ddim_eval.fetch import ChecksumError, DownloadError, cache_dir, download

from helpers import MD5, PAYLOAD


def test_download_verifies_then_renames(server, tmp_path):
    dest = download(f"{server.url}/model.ckpt", tmp_path / "sub" / "model.ckpt", md5=MD5, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert sorted(p.name for p in dest.parent.iterdir()) == ["model.ckpt"]


def test_interrupted_download_resumes(server, tmp_path):
    dest = tmp_path / "model.ckpt"
    server.cut_after = 300_000
    with pytest.raises(DownloadError, match=r"300000 bytes are kept in .*model.ckpt.part; run again to resume"):
        download(f"{server.url}/model.ckpt", dest, md5=MD5, progress=False)
    assert not dest.exists()
    server.cut_after = None
    download(f"{server.url}/model.ckpt", dest, md5=MD5, progress=False)
    assert dest.read_bytes() == PAYLOAD
    assert server.requests[-1]["Range"] == "bytes=300000-"


def test_download_restarts_when_server_ignores_range(server, tmp_path):
    dest = tmp_path / "model.ckpt"
    (tmp_path / "model.ckpt.part").write_bytes(b"x" * 1000)  # junk from an earlier attempt
    server.ranges = False
    download(f"{server.url}/model.ckpt", dest, md5=MD5, progress=False)
    assert dest.read_bytes() == PAYLOAD


def test_complete_part_file_is_verified_not_refetched(server, tmp_path):
    (tmp_path / "model.ckpt.part").write_bytes(PAYLOAD)
    download(f"{server.url}/model.ckpt", tmp_path / "model.ckpt", md5=MD5, progress=False)  # server says 416
    assert (tmp_path / "model.ckpt").read_bytes() == PAYLOAD


def test_checksum_mismatch_keeps_nothing(server, tmp_path):
    with pytest.raises(ChecksumError, match=f"md5 is {MD5}, expected 0{{32}}"):
        download(f"{server.url}/model.ckpt", tmp_path / "model.ckpt", md5="0" * 32, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_offline_error_says_what_to_do(tmp_path):
    dest = tmp_path / "model.ckpt"
    with pytest.raises(DownloadError, match=rf"offline\?.*place it at {dest} \(md5 {MD5}\)"):
        download("http://127.0.0.1:9/model.ckpt", dest, md5=MD5, progress=False)


def test_offline_switch_makes_no_request(server, tmp_path, monkeypatch):
    monkeypatch.setenv("DDIM_EVAL_OFFLINE", "1")
    with pytest.raises(DownloadError, match="DDIM_EVAL_OFFLINE is set"):
        download(f"{server.url}/model.ckpt", tmp_path / "model.ckpt", md5=MD5, progress=False)
    assert server.requests == []


def test_html_answer_is_a_manual_step(server, tmp_path):
    server.content_type = "text/html; charset=utf-8"
    with pytest.raises(DownloadError, match="HTML page instead of the file.*open it in a browser, then place it"):
        download(f"{server.url}/model.ckpt", tmp_path / "model.ckpt", manual="open it in a browser",
                 progress=False)


def test_http_error(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download(f"{server.url}/missing.ckpt", tmp_path / "model.ckpt", progress=False)


def test_cache_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DDIM_EVAL_CACHE", raising=False)
    assert cache_dir() == tmp_path / "xdg" / "ddim-eval"
    monkeypatch.setenv("DDIM_EVAL_CACHE", str(tmp_path / "env"))
    assert cache_dir() == tmp_path / "env"
    assert cache_dir(tmp_path / "arg") == tmp_path / "arg"
