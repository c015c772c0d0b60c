"""torch-fidelity extractors: the digits CNN, Inception from a local file or the cache, refused pickles, and what
an offline machine is told."""

import hashlib

import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

from ddim_eval.fetch import ChecksumError, DownloadError, FetchError
from ddim_eval.metrics import extractors
from ddim_eval.metrics.extractors import INCEPTION, fetch_inception_weights, load_extractor, save_random_inception

from helpers import PAYLOAD, Payload


def test_gray_and_rgb_copies_give_the_same_features(digits_images):
    extractor = load_extractor("digits-cnn")
    gray = torch.from_numpy(digits_images[1][:10])
    assert torch.equal(extractor(gray), extractor(gray.repeat(1, 3, 1, 1)))
    assert extractor(gray).shape == (10, 64)
    with pytest.raises(ValueError, match="take uint8 pixels or float32 ones in \\[0, 1\\]; got torch.float64"):
        extractor(gray.double())
    with pytest.raises(ValueError, match=r"float pixels must lie in \[0, 1\]; got \[0, 255\]"):
        extractor(gray.float())  # pixels on the 0..255 scale, not divided by 255


@pytest.mark.parametrize("name", ["digits-cnn", INCEPTION])
def test_the_float_route_reads_integer_pixels_as_the_uint8_route_does(name, tmp_path, digits_images):
    """Float pixels in [0, 1] reach the network unrounded; at integer pixel values they are the uint8 route's input
    bit for bit, so a float row's shift is the rounding's alone. torch-fidelity's own uint8 check is waived only
    while the float route runs."""
    weights = save_random_inception(tmp_path / "inception.pth") if name == INCEPTION else None
    extractor = load_extractor(name, weights_path=weights)
    images = torch.from_numpy(digits_images[0][:4])
    assert torch.equal(extractor(images.float() / 255), extractor(images))
    unrounded = (images.float() + torch.rand(images.shape, generator=torch.Generator().manual_seed(0)) - 0.5) / 255
    assert not torch.equal(extractor(unrounded.clamp(0, 1)), extractor(images))
    if name == INCEPTION:
        with pytest.raises(ValueError, match="dtype=torch.uint8"):
            extractor.module(images.float().expand(-1, 3, -1, -1))  # the check stands outside the float route


def test_pickled_extractor_weights_are_refused(tmp_path):
    # torch-fidelity itself loads a local Inception file with weights_only=False; we refuse one that is not plain.
    sentinel = tmp_path / "pwned"
    torch.save({"w": torch.zeros(1), "x": Payload(sentinel)}, tmp_path / "evil.pth")
    with pytest.raises(ValueError, match="evil.pth do not load as plain tensors"):
        load_extractor(INCEPTION, weights_path=tmp_path / "evil.pth")
    assert not sentinel.exists()


def test_inception_from_a_local_weights_file(tmp_path, monkeypatch, digits_images):
    """The offline path for compute nodes: Inception built from `weights_path`, never the network. The weights
    here are the architecture's random initialisation (the real file needs internet); the plumbing is the same."""
    save_random_inception(tmp_path / "weights-inception.pth")

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", no_network)
    extractor = load_extractor(INCEPTION, weights_path=tmp_path / "weights-inception.pth")
    assert extractor.layer == "2048"
    features = extractor(torch.from_numpy(digits_images[1][:3]))  # 8x8 gray -> RGB -> resized inside to 299
    assert features.shape == (3, 2048) and torch.isfinite(features).all()


def test_inception_weights_fetch_checks_the_hash_prefix(server, tmp_path, monkeypatch):
    prefix = hashlib.sha256(PAYLOAD).hexdigest()[:8]
    server.files[f"/weights-{prefix}.pth"] = PAYLOAD
    monkeypatch.setattr(extractors, "INCEPTION_WEIGHTS_URL", f"{server.url}/weights-{prefix}.pth")
    monkeypatch.setattr(extractors, "INCEPTION_SHA256_PREFIX", prefix)
    path = fetch_inception_weights(tmp_path)
    assert path == tmp_path / "torch-fidelity" / f"weights-{prefix}.pth" and path.read_bytes() == PAYLOAD
    assert fetch_inception_weights(tmp_path, allow_download=False) == path  # cached, verified again
    path.write_bytes(PAYLOAD[:-1])
    with pytest.raises(ChecksumError, match=f"does not start with {prefix}; removed it"):
        fetch_inception_weights(tmp_path)
    assert not path.exists()
    with pytest.raises(FetchError, match="downloading is off"):
        fetch_inception_weights(tmp_path, allow_download=False)


def test_inception_offline_says_what_to_do(tmp_path, monkeypatch):
    """No weights in torch.hub's cache and no network: the error names the file, where it is looked for, and the
    two ways out, instead of urllib's bare <urlopen error>."""
    import urllib.error

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    hub_file = tmp_path / "torch" / "hub" / "checkpoints" / extractors.inception_weights_name()

    def no_network(*args, **kwargs):
        raise urllib.error.URLError(OSError(-2, "Name or service not known"))

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", no_network)
    with pytest.raises(DownloadError) as e:
        load_extractor(INCEPTION)
    message = str(e.value)
    assert "Name or service not known" in message and str(hub_file) in message
    assert "ddim-eval fetch-inception" in message and "--weights-path" in message

    monkeypatch.setenv("DDIM_EVAL_OFFLINE", "1")  # offline by choice: no attempt, the same guidance
    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: pytest.fail("tried to download"))
    with pytest.raises(DownloadError, match=r"\$DDIM_EVAL_OFFLINE is set, so it is not downloaded.*--weights-path"):
        load_extractor(INCEPTION)
