
import numpy as np
import pytest
import torch
import torch_fidelity.feature_extractor_inceptionv3 as tf_inception

from ddim_eval.features import INCEPTION, batches, extract, load_extractor, load_features, save_features

from helpers import Payload


def test_gray_and_rgb_copies_give_the_same_features(digits_images):
    extractor = load_extractor("digits-cnn")
    gray = torch.from_numpy(digits_images[1][:10])
    assert torch.equal(extractor(gray), extractor(gray.repeat(1, 3, 1, 1)))
    assert extractor(gray).shape == (10, 64)
    with pytest.raises(ValueError, match="uint8"):
        extractor(gray.float())


def test_extract_streams_batches(digits_images):
    extractor = load_extractor("digits-cnn")
    features, stats = extract(extractor, batches(digits_images[0], 100), progress=False)
    assert features.shape == (1437, 64) and stats.n == 1437 and (stats.extractor, stats.layer) == ("digits-cnn", "64")
    np.testing.assert_allclose(stats.sigma, np.cov(features.astype(np.float64), rowvar=False), rtol=1e-8, atol=1e-10)
    with pytest.raises(ValueError, match="no images"):
        extract(extractor, [], progress=False)


def test_features_file_round_trip_and_mismatch(tmp_path):
    f = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    save_features(tmp_path / "f.npz", f, "digits-cnn", "64")
    np.testing.assert_array_equal(load_features(tmp_path / "f.npz", "digits-cnn", "64"), f)
    with pytest.raises(ValueError, match="f.npz holds features of digits-cnn layer 64; expected extractor"):
        load_features(tmp_path / "f.npz", extractor=INCEPTION)
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load_features(tmp_path / "nope.npz")


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
    with monkeypatch.context() as m:
        m.setattr(tf_inception, "load_state_dict_from_url", lambda *a, **k: {})
        m.setattr(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None)
        state = tf_inception.FeatureExtractorInceptionV3(INCEPTION, ["2048"]).state_dict()
    torch.save(state, tmp_path / "weights-inception.pth")

    def no_network(*args, **kwargs):
        raise AssertionError("tried to download")

    monkeypatch.setattr(tf_inception, "load_state_dict_from_url", no_network)
    extractor = load_extractor(INCEPTION, weights_path=tmp_path / "weights-inception.pth")
    assert extractor.layer == "2048"
    features = extractor(torch.from_numpy(digits_images[1][:3]))  # 8x8 gray -> RGB -> resized inside to 299
    assert features.shape == (3, 2048) and torch.isfinite(features).all()
