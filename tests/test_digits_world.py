"""The demo world: packaged weights, the classifier, training, and the paper's effect on the packaged model."""

import pytest
import torch
from diffusers import UNet2DModel

from ddim_eval.data import digits
from ddim_eval.experiment.generate import sample_shard
from ddim_eval.fetch import ChecksumError, file_digest
from ddim_eval.metrics.digits_cnn import PACKAGED_SHA256, PACKAGED_WEIGHTS, accuracy, load_digits_cnn
from ddim_eval.metrics.distances import fid
from ddim_eval.metrics.extractors import load_extractor
from ddim_eval.metrics.features import batches, extract
from ddim_eval.metrics.reconstruction import reconstruction_errors
from ddim_eval.models.checkpoints import fetch_checkpoint, load_unet
from ddim_eval.models.registry import get_model_spec
from ddim_eval.models.train import save_weights, train_ddpm
from ddim_eval.models.unet import eps_model_from_unet
from ddim_eval.sampling.run import prepare
from ddim_eval.sampling.samplers import paper_entry
from ddim_eval.sampling.times import discrete_grid


def test_packaged_weights_match_their_pins():
    spec = get_model_spec("digits")
    assert file_digest(fetch_checkpoint(spec), "sha256") == spec.sha256
    assert file_digest(PACKAGED_WEIGHTS, "sha256") == PACKAGED_SHA256
    unet = load_unet(spec)
    assert sum(p.numel() for p in unet.parameters()) == 176_849 and not unet.training


def test_packaged_checkpoint_is_verified():
    import dataclasses

    spec = dataclasses.replace(get_model_spec("digits"), sha256="0" * 64)
    with pytest.raises(ChecksumError, match="digits-ddpm.safetensors: sha256 is"):
        fetch_checkpoint(spec)


def test_classifier_accuracy():
    model = load_digits_cnn()
    assert accuracy(model, *digits.load("test")) >= 0.97


def test_training_is_deterministic_and_learns(tmp_path, digits_images):
    spec = get_model_spec("digits")

    def run():
        torch.manual_seed(0)
        unet = UNet2DModel(**spec.unet_config())
        return unet, train_ddpm(unet, digits_images[0][:256], spec.alphas_cumprod(), steps=30, batch_size=32,
                                warmup=5, ema_decay=0.5, seed=1, progress=False)

    unet, ema = run()
    _, ema2 = run()
    save_weights(tmp_path / "a.safetensors", ema)
    save_weights(tmp_path / "b.safetensors", ema2)
    assert file_digest(tmp_path / "a.safetensors", "sha256") == file_digest(tmp_path / "b.safetensors", "sha256")
    assert not ema.training and unet.training
    fresh = UNet2DModel(**spec.unet_config())
    assert any(not torch.equal(p, q) for p, q in zip(ema.parameters(), fresh.parameters()))
    with pytest.raises(ValueError, match="steps=0"):
        train_ddpm(unet, digits_images[0], spec.alphas_cumprod(), steps=0)


def test_demo_shows_the_papers_effect(digits_images):
    """The shipped model reproduces Table 1's ordering in digits-cnn FID: eta = 0 < eta = 1 < sigma_hat at S = 10
    and 20, and DDIM improving from S = 10 to 100, on `ddim-eval demo`'s 2000 samples from shared x_T; and
    reconstruction error falls with S."""
    spec = get_model_spec("digits")
    eps_model = eps_model_from_unet(load_unet(spec))
    extractor = load_extractor("digits-cnn")
    _, ref = extract(extractor, batches(digits_images[0], 500), progress=False)

    def cell_fid(s, eta):
        run = prepare(paper_entry(eta), s, spec.alphas_cumprod(), "linear")
        images = torch.cat([b for b, _ in sample_shard(eps_model, "digits", 0, 2000, spec.image_shape, run,
                                                       batch_size=500, progress=False)])
        return fid(extract(extractor, [images], progress=False)[1], ref)

    scores = {(s, eta): cell_fid(s, eta) for s in (10, 20) for eta in (0.0, 1.0, "sigma_hat")}
    scores[100, 0.0] = cell_fid(100, 0.0)
    for s in (10, 20):
        assert scores[s, 0.0] < scores[s, 1.0] < scores[s, "sigma_hat"], scores
    assert scores[100, 0.0] < scores[10, 0.0], scores
    errors = [reconstruction_errors(eps_model, digits_images[1][:100], discrete_grid(spec.alphas_cumprod(), s, "linear"),
                                    progress=False).mean() for s in (10, 20, 50)]
    assert errors[0] > errors[1] > errors[2] > 0, errors
