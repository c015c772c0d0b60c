"""Downloads (resume, restart, verify, offline), the cache, and safe loading, all against a local server."""

import hashlib
import http.server
import threading

import pytest
import torch

from ddim_eval.checkpoints import (
    CheckpointError,
    ChecksumError,
    DownloadError,
    cache_dir,
    download,
    fetch_checkpoint,
    load_official_state_dict,
    load_unet,
)
from ddim_eval.registry import load_registry
from ddim_eval.sampling import sample
from ddim_eval.unet import eps_model_from_unet

from helpers import Payload

PAYLOAD = bytes(range(256)) * 4096  # 1 MiB
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class FileServer:
    """A local HTTP server for `files`, with switches for Range support, early hang-ups and HTML answers."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.ranges = True
        self.cut_after: int | None = None  # send only this many body bytes, then hang up
        self.content_type = "application/octet-stream"
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(dict(self.headers))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                if server.ranges and self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                else:
                    self.send_response(200)
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                chunk = body[start:] if server.cut_after is None else body[start:start + server.cut_after]
                self.wfile.write(chunk)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = FileServer()
    s.files["/model.ckpt"] = PAYLOAD
    yield s
    s.httpd.shutdown()


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


# --- the registry path: fetch, verify, convert, load -------------------------------------------------------


def registry_with(tmp_path, url, layout, digest_line):
    toml = tmp_path / "models.toml"
    toml.write_text(f'''
[tiny]
spacing = "linear"
checkpoint_url = "{url}"
checkpoint_file = "tiny/model.ckpt"
layout = "{layout}"
{digest_line}
schedule = {{ beta_schedule = "linear", beta_start = 1e-4, beta_end = 0.02, T = 1000 }}
unet = {{ ch = 32, ch_mult = [1, 2], num_res_blocks = 1, attn_resolutions = [4], dropout = 0.0, resolution = 8, in_channels = 3, out_ch = 3, resamp_with_conv = true }}
''')
    return load_registry(toml)["tiny"]


def test_load_unet_end_to_end(server, tmp_path, reference):
    fixture = torch.load(reference / "ddpm_unet_tiny_fixture.pt", weights_only=True)
    ckpt = tmp_path / "upload.ckpt"
    torch.save(fixture["state_dict"], ckpt)
    server.files["/tiny.ckpt"] = ckpt.read_bytes()
    spec = registry_with(tmp_path, f"{server.url}/tiny.ckpt", "state_dict",
                         f'md5 = "{hashlib.md5(ckpt.read_bytes()).hexdigest()}"')
    assert spec.unet == fixture["config"]
    unet = load_unet(spec, tmp_path / "cache")
    assert (tmp_path / "cache" / "tiny" / "model.ckpt").exists()
    with torch.no_grad():
        torch.testing.assert_close(eps_model_from_unet(unet)(fixture["x"], fixture["t"]), fixture["eps"],
                                   atol=1e-5, rtol=0)
    assert not unet.training and not any(p.requires_grad for p in unet.parameters())
    # The loaded network drives the sampler directly.
    assert sample(eps_model_from_unet(unet), torch.randn(2, 3, 8, 8), [0, 500]).shape == (2, 3, 8, 8)
    # Cached now: a second load makes no request, and still verifies the file.
    n_requests = len(server.requests)
    load_unet(spec, tmp_path / "cache")
    assert len(server.requests) == n_requests
    (tmp_path / "cache" / "tiny" / "model.ckpt").write_bytes(b"corrupt")
    with pytest.raises(ChecksumError, match="tiny/model.ckpt: md5 is"):
        load_unet(spec, tmp_path / "cache")


def test_ema_list_layout_and_pinned_sha256(server, tmp_path, reference):
    # The CelebA ckpt.pth: [DataParallel state dict, optimizer state, epoch, step, EMA shadow]; no published hash.
    fixture = torch.load(reference / "ddpm_unet_tiny_fixture.pt", weights_only=True)
    ema = {f"module.{k}": v for k, v in fixture["state_dict"].items()}
    raw = {f"module.{k}": torch.zeros_like(v) for k, v in fixture["state_dict"].items()}
    ckpt = tmp_path / "ckpt.pth"
    torch.save([raw, {"state": {}, "param_groups": [{"lr": 2e-4, "eps": 1e-8}]}, 10, 5000, ema], ckpt)
    server.files["/ckpt.pth"] = ckpt.read_bytes()
    spec = registry_with(tmp_path, f"{server.url}/ckpt.pth", "ema_list", "")
    unet = load_unet(spec, tmp_path / "cache")
    with torch.no_grad():  # the EMA entry was used, not the zeros
        torch.testing.assert_close(eps_model_from_unet(unet)(fixture["x"], fixture["t"]), fixture["eps"],
                                   atol=1e-5, rtol=0)
    pin = tmp_path / "cache" / "tiny" / "model.ckpt.sha256"
    assert pin.read_text().strip() == hashlib.sha256(ckpt.read_bytes()).hexdigest()
    (tmp_path / "cache" / "tiny" / "model.ckpt").write_bytes(ckpt.read_bytes()[:-100])
    with pytest.raises(ChecksumError, match="sha256 is .* expected " + pin.read_text().strip()):
        fetch_checkpoint(spec, tmp_path / "cache")


def test_missing_checkpoint_without_download(tmp_path):
    spec = registry_with(tmp_path, "http://127.0.0.1:9/x", "state_dict", f'md5 = "{MD5}"')
    with pytest.raises(CheckpointError, match=rf"not at {tmp_path}/cache/tiny/model.ckpt and downloading is off"):
        fetch_checkpoint(spec, tmp_path / "cache", allow_download=False)


def test_truncated_file_is_a_clear_error(tmp_path, reference):
    path = tmp_path / "model.ckpt"
    torch.save(torch.load(reference / "ddpm_unet_tiny_fixture.pt", weights_only=True)["state_dict"], path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="corrupt, truncated or holds more than tensors"):
        load_official_state_dict(path)


def test_pickled_code_is_never_run(tmp_path):
    sentinel = tmp_path / "pwned"
    path = tmp_path / "evil.ckpt"
    torch.save({"conv_in.weight": torch.zeros(1), "payload": Payload(sentinel)}, path)
    with pytest.raises(CheckpointError, match="never unpickles arbitrary objects"):
        load_official_state_dict(path)
    assert not sentinel.exists()
    torch.load(path, weights_only=False)  # the payload is live: an unsafe load would have run it
    assert sentinel.exists()


def test_wrong_layout_is_named(tmp_path):
    path = tmp_path / "list.ckpt"
    torch.save([{"a": torch.zeros(1)}, 3], path)
    with pytest.raises(CheckpointError, match="expected a state dict of tensors"):
        load_official_state_dict(path, "state_dict")
    torch.save({"a": torch.zeros(1)}, path)
    with pytest.raises(CheckpointError, match="layout 'ema_list' expects a list"):
        load_official_state_dict(path, "ema_list")


def test_inception_weights_fetch_checks_the_hash_prefix(server, tmp_path, monkeypatch):
    import ddim_eval.features as features
    from ddim_eval.checkpoints import fetch_inception_weights

    prefix = hashlib.sha256(PAYLOAD).hexdigest()[:8]
    server.files[f"/weights-{prefix}.pth"] = PAYLOAD
    monkeypatch.setattr(features, "INCEPTION_WEIGHTS_URL", f"{server.url}/weights-{prefix}.pth")
    monkeypatch.setattr(features, "INCEPTION_SHA256_PREFIX", prefix)
    path = fetch_inception_weights(tmp_path)
    assert path == tmp_path / "torch-fidelity" / f"weights-{prefix}.pth" and path.read_bytes() == PAYLOAD
    assert fetch_inception_weights(tmp_path, allow_download=False) == path  # cached, verified again
    path.write_bytes(PAYLOAD[:-1])
    with pytest.raises(ChecksumError, match=f"does not start with {prefix}; removed it"):
        fetch_inception_weights(tmp_path)
    assert not path.exists()
    with pytest.raises(CheckpointError, match="downloading is off"):
        fetch_inception_weights(tmp_path, allow_download=False)
