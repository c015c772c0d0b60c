"""The official-layout -> UNet2DModel converter and the paper's network configs."""

import json

import pytest
import torch

from ddim_eval.models import (
    build_unet,
    convert_official_state_dict,
    diffusers_config,
    eps_model_from_unet,
    load_official_weights,
    load_registry,
)

from helpers import TINY_UNET


def test_converter_reproduces_official_network_output(reference):
    fixture = torch.load(reference / "ddpm_unet_tiny_fixture.pt", weights_only=True)
    unet = load_official_weights(build_unet(fixture["config"]), fixture["state_dict"], fixture["config"])
    with torch.no_grad():
        eps = eps_model_from_unet(unet)(fixture["x"], fixture["t"])
    torch.testing.assert_close(eps, fixture["eps"], atol=1e-5, rtol=0)
    # The fixture probes distinct timesteps: a wrong time embedding could not pass.
    assert len(set(fixture["t"].tolist())) == len(fixture["t"])


def test_converter_accepts_data_parallel_prefix(reference):
    fixture = torch.load(reference / "ddpm_unet_tiny_fixture.pt", weights_only=True)
    prefixed = {f"module.{k}": v for k, v in fixture["state_dict"].items()}
    assert convert_official_state_dict(prefixed, fixture["config"]).keys() == \
        convert_official_state_dict(fixture["state_dict"], fixture["config"]).keys()


@pytest.fixture(scope="module")
def paper_keys(reference):
    return json.loads((reference / "ddpm_unet_keys.json").read_text())


@pytest.mark.parametrize("name", ["cifar10", "celeba", "lsun_bedroom", "lsun_church"])
def test_paper_configs_convert_every_key(paper_keys, name):
    entry = paper_keys[name]
    # The registry carries the same official config as the one the keys were read from.
    assert load_registry()[name].unet == entry["config"]
    state_dict = {k: torch.empty(shape) for k, shape in entry["keys"].items()}
    unet = build_unet(entry["config"], device="meta")  # no memory for 114M random parameters
    load_official_weights(unet, state_dict, entry["config"], assign=True)
    assert sum(p.numel() for p in unet.parameters()) == entry["num_params"]
    assert all(p.device.type == "cpu" for p in unet.parameters())  # every meta tensor was replaced


def test_converted_cifar10_runs(paper_keys):
    entry = paper_keys["cifar10"]
    g = torch.Generator().manual_seed(0)
    state_dict = {k: torch.randn(shape, generator=g) * 0.02 for k, shape in entry["keys"].items()}
    unet = load_official_weights(build_unet(entry["config"]), state_dict, entry["config"])
    with torch.no_grad():
        eps = eps_model_from_unet(unet)(torch.randn(2, 3, 32, 32), torch.tensor([10, 900]))
    assert eps.shape == (2, 3, 32, 32) and torch.isfinite(eps).all()


def test_mismatched_state_dict_is_named(reference):
    fixture = torch.load(reference / "ddpm_unet_tiny_fixture.pt", weights_only=True)
    state_dict = dict(fixture["state_dict"])
    del state_dict["conv_in.weight"]
    state_dict["down.5.block.0.conv1.weight"] = torch.zeros(1)
    with pytest.raises(ValueError, match=r"missing \['conv_in.weight'\].*unexpected \['down_blocks.5.resnets.0.conv1"):
        load_official_weights(build_unet(fixture["config"]), state_dict, fixture["config"])


@pytest.mark.parametrize("change, message", [
    (dict(resamp_with_conv=False), "resamp_with_conv=False"),
    (dict(resolution=7), "resolution 7 is not divisible"),
    (dict(channels=3), r"unknown keys \['channels'\]"),
])
def test_bad_official_config(change, message):
    with pytest.raises(ValueError, match=message):
        diffusers_config(dict(TINY_UNET, **change))
