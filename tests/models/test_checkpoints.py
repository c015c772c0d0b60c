"""The registry path: fetch, verify, convert and load a checkpoint from a local server; safe loading."""

import hashlib

import pytest
import torch

from ddim_eval.fetch import CheckpointError, ChecksumError, FetchError
from ddim_eval.models.checkpoints import fetch_checkpoint, load_official_state_dict, load_unet
from ddim_eval.models.registry import load_registry
from ddim_eval.models.unet import eps_model_from_unet
from ddim_eval.sampling import discrete_grid, make_alphas_cumprod, sample

from helpers import MD5, Payload


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
    grid = discrete_grid(make_alphas_cumprod(), 2)  # tau = [0, 500]
    assert sample(eps_model_from_unet(unet), torch.randn(2, 3, 8, 8), grid).shape == (2, 3, 8, 8)
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
    with pytest.raises(FetchError, match=rf"not at {tmp_path}/cache/tiny/model.ckpt and downloading is off"):
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


def test_a_bad_first_copy_is_not_pinned_and_a_pin_is_named(server, tmp_path, reference):
    """Without a published checksum the first copy's sha256 becomes the reference: only once the file loads. A copy
    that disagrees with a pin names the pin file, which may be the bad one."""
    spec = registry_with(tmp_path, f"{server.url}/bad.ckpt", "state_dict", "")
    server.files["/bad.ckpt"] = b"not a checkpoint"
    with pytest.raises(CheckpointError, match=r"nothing was pinned: delete .*tiny/model.ckpt and fetch it again"):
        fetch_checkpoint(spec, tmp_path / "cache")
    pin = tmp_path / "cache" / "tiny" / "model.ckpt.sha256"
    assert not pin.exists()
    (tmp_path / "cache" / "tiny" / "model.ckpt").unlink()
    good = tmp_path / "good.ckpt"
    torch.save(torch.load(reference / "ddpm_unet_tiny_fixture.pt", weights_only=True)["state_dict"], good)
    server.files["/bad.ckpt"] = good.read_bytes()
    fetch_checkpoint(spec, tmp_path / "cache")
    assert pin.exists()
    (tmp_path / "cache" / "tiny" / "model.ckpt").write_bytes(b"another copy")
    with pytest.raises(ChecksumError, match=rf"pinned in {pin} from an earlier copy: .* delete {pin} too"):
        fetch_checkpoint(spec, tmp_path / "cache")
