import io

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.utils import save_image

from ddim_eval.data.images import check_finite, from_uint8, to_rgb, to_uint8


def test_to_uint8_matches_torchvision_save_image_png():
    # The paper's PNGs were written by torchvision's save_image from (x + 1) / 2; compare pixel for pixel,
    # including values exactly on the rounding boundaries and out of range.
    x = torch.cat([torch.rand(1, 3, 16, 16) * 2.4 - 1.2,
                   (torch.arange(256.0) / 255 * 2 - 1).view(1, 1, 16, 16).expand(1, 3, 16, 16),
                   ((torch.arange(256.0) + 0.5) / 255 * 2 - 1).view(1, 1, 16, 16).expand(1, 3, 16, 16)])
    for img in x:
        buf = io.BytesIO()
        save_image((img + 1) / 2, buf, format="png")
        png = np.asarray(Image.open(buf)).transpose(2, 0, 1)
        np.testing.assert_array_equal(to_uint8(img[None])[0].numpy(), png)


def test_round_trip_is_exact():
    pixels = torch.arange(256, dtype=torch.uint8).view(1, 1, 16, 16)
    assert torch.equal(to_uint8(from_uint8(pixels)), pixels)
    assert from_uint8(pixels).min() == -1 and from_uint8(pixels).max() == 1


def test_nan_and_inf_are_named():
    x = torch.zeros(4, 1, 2, 2)
    x[1, 0, 0, 0] = float("nan")
    x[3, 0, 1, 1] = float("inf")
    with pytest.raises(FloatingPointError, match="2 NaN/inf values in 2 of 4 images"):
        to_uint8(x)
    check_finite(torch.zeros(3))


def test_from_uint8_rejects_floats():
    with pytest.raises(ValueError, match="need uint8"):
        from_uint8(torch.zeros(1, 1, 2, 2))


def test_to_rgb():
    gray = torch.randint(0, 255, (2, 1, 4, 4), dtype=torch.uint8)
    rgb = to_rgb(gray)
    assert rgb.shape == (2, 3, 4, 4) and all(torch.equal(rgb[:, c], gray[:, 0]) for c in range(3))
    assert to_rgb(rgb) is rgb
    with pytest.raises(ValueError, match="1 or 3"):
        to_rgb(torch.zeros(2, 2, 4, 4, dtype=torch.uint8))
