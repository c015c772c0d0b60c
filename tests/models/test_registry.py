import re

import pytest

from ddim_eval.models.registry import get_model_spec, load_registry

FACTS_MD5 = {"cifar10": "1fa350b952534ae442b1d5235cce5cd3", "lsun_bedroom": "1921fa46b66a3665e450e42f36c2720f",
             "lsun_church": "fdc68a23938c2397caba4a260bc2445f", "cifar10_no_ema": "82ed3067fd1002f5cf4c339fb80c4669"}


def test_paper_models_are_registered():
    registry = load_registry()
    # The demo's weights without EMA, and CIFAR-10's (the protocol study): the same network, drawing its twin's x_T.
    for twin, of in (("digits_no_ema", "digits"), ("cifar10_no_ema", "cifar10")):
        assert registry[twin].x_T_name == of and registry[of].x_T_name == of
        assert registry[twin].unet_config() == registry[of].unet_config()
    assert registry.pop("digits").checkpoint_url == "package"  # the demo world's model, tested with it
    assert registry.pop("digits_no_ema").checkpoint_url == "package"
    assert sorted(registry) == ["celeba", "cifar10", "cifar10_no_ema", "lsun_bedroom", "lsun_church"]
    assert {name: spec.md5 for name, spec in registry.items() if spec.md5} == FACTS_MD5
    assert registry["celeba"].md5 is None and registry["celeba"].sha256 is None  # pinned on first download
    assert registry["celeba"].layout == "ema_list" and registry["celeba"].manual
    # The paper sampled CIFAR-10 with quadratic tau and every other dataset with linear tau.
    assert {name: spec.spacing for name, spec in registry.items()} == {
        "cifar10": "quadratic", "cifar10_no_ema": "quadratic", "celeba": "linear", "lsun_bedroom": "linear",
        "lsun_church": "linear"}
    assert {spec.image_shape for spec in registry.values()} == {(3, 32, 32), (3, 64, 64), (3, 256, 256)}
    for spec in registry.values():
        assert spec.T == 1000 and spec.alphas_cumprod()[0] == pytest.approx(1 - 1e-4)
        assert re.fullmatch(r"https://heibox\.uni-heidelberg\.de/f/[0-9a-f]{20}/\?dl=1", spec.checkpoint_url) or \
            "drive" in spec.checkpoint_url


def test_unknown_model():
    with pytest.raises(KeyError, match=r"unknown model 'imagenet'; registered: \['celeba', 'cifar10', 'cifar10_no_ema', 'digits'"):
        get_model_spec("imagenet")


ENTRY = '''
[m]
spacing = "linear"
checkpoint_url = "http://example.invalid/m.ckpt"
checkpoint_file = "m.ckpt"
layout = "state_dict"
md5 = "{md5}"
schedule = {{ beta_schedule = "linear", beta_start = 1e-4, beta_end = 0.02, T = 1000 }}
unet = {{ ch = 32, ch_mult = [1, 2], num_res_blocks = 1, attn_resolutions = [4], dropout = 0.0, resolution = 8, in_channels = 3, out_ch = 3, resamp_with_conv = true }}
'''


@pytest.mark.parametrize("edit, message", [
    (('spacing = "linear"', 'spacing = "cosine"'), r"model 'm' in .*: spacing 'cosine' is not one of"),
    (('layout = "state_dict"', 'layout = "pickle"'), r"layout 'pickle' is not one of \['state_dict', 'ema_list', 'diffusers'\]"),
    (('unet = {{', 'diffusers_unet = {{ sample_size = 8 }}\nunet = {{'), "exactly one of unet .* and diffusers_unet"),
    (('unet = {{ ch = 32, ch_mult = [1, 2], num_res_blocks = 1, attn_resolutions = [4], dropout = 0.0, resolution = 8, '
      'in_channels = 3, out_ch = 3, resamp_with_conv = true }}', 'diffusers_unet = {{ sample_size = 8 }}'),
     "a diffusers_unet model needs layout 'diffusers'"),
    (('layout = "state_dict"', 'layout = "diffusers"\ndiffusers_unet = {{ sample_size = 8, channels = 3 }}'),
     "exactly one of"),
    (('checkpoint_url = "http://example.invalid/m.ckpt"', 'checkpoint_url = "package"'),
     "a packaged checkpoint needs its sha256"),
    (('md5 = "{md5}"', 'md5 = "abc"'), r"md5 'abc' is not 32 lowercase hex digits"),
    (('spacing = "linear"', 'spacing = "linear"\nurl = "x"'), r"unknown keys \['url'\]"),
    (('resolution = 8', 'resolution = 7'), "resolution 7 is not divisible"),
    (('beta_schedule = "linear"', 'beta_schedule = "cosine"'), "beta_schedule 'cosine' is not one of"),
    (('spacing = "linear"', 'spacing = "linear"\nx_T_of = "n"'), r"x_T_of 'n' is not a registered model of its image"),
])
def test_bad_entries_are_named(tmp_path, edit, message):
    path = tmp_path / "models.toml"
    path.write_text(ENTRY.replace(*edit).format(md5="0" * 32))
    with pytest.raises(ValueError, match=message):
        load_registry(path)


def test_diffusers_unet_entry(tmp_path):
    entry = ENTRY.replace('layout = "state_dict"', 'layout = "diffusers"').replace(
        'unet = {{ ch = 32, ch_mult = [1, 2], num_res_blocks = 1, attn_resolutions = [4], dropout = 0.0, '
        'resolution = 8, in_channels = 3, out_ch = 3, resamp_with_conv = true }}',
        'diffusers_unet = {{ sample_size = 16, in_channels = 2, out_channels = 2, norm_num_groups = 8, '
        'block_out_channels = [8, 16], down_block_types = ["DownBlock2D", "DownBlock2D"], '
        'up_block_types = ["UpBlock2D", "UpBlock2D"] }}')
    path = tmp_path / "models.toml"
    path.write_text(entry.format(md5="0" * 32))
    spec = load_registry(path)["m"]
    assert spec.image_shape == (2, 16, 16) and spec.unet_config()["block_out_channels"] == [8, 16]
    path.write_text(entry.replace("sample_size = 16", "sample_size = 16, bogus = 1").format(md5="0" * 32))
    with pytest.raises(ValueError, match="model 'm' in .*bogus"):
        load_registry(path)
    # Without building networks (the workflow's DAG build), only the image shape's keys are checked.
    assert load_registry(path, check_networks=False)["m"].image_shape == (2, 16, 16)
    path.write_text(entry.replace("sample_size = 16, ", "").format(md5="0" * 32))
    with pytest.raises(ValueError, match=r"model 'm' in .*diffusers_unet needs \['sample_size'\]"):
        load_registry(path, check_networks=False)
