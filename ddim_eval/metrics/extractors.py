"""Feature extractors through torch-fidelity (Inception by default, any registered one by name), their weights,
and the demo's digits-cnn registered beside them.

Images enter as uint8 NCHW, grayscale repeated to RGB, exactly what torch-fidelity's own `calculate_metrics`
feeds its extractors; or, the float route, as float pixels in [0, 1] not rounded to uint8 (the protocol study's
"float samples" row). torch-fidelity downloads Inception's weights on first use; without internet, fetch them
once with `ddim-eval fetch-inception` and pass the file as `weights_path` (its `feature_extractor_weights_path`).
"""

from __future__ import annotations

import contextlib
import difflib
import http.client
import os
import sys
import urllib.error
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import torch
import torch_fidelity
from torch import Tensor
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from ddim_eval.data.images import to_rgb
from ddim_eval.fetch import OFFLINE_ENV, ChecksumError, DownloadError, cache_dir, fetch_file, file_digest
from ddim_eval.io import atomic_path
from ddim_eval.metrics import digits_cnn
from ddim_eval.metrics.stats import INCEPTION

INCEPTION_WEIGHTS_URL = URL_INCEPTION_V3
# torch.hub's convention: the file name ends in "-<sha256 prefix>.pth".
INCEPTION_SHA256_PREFIX = URL_INCEPTION_V3.rsplit("-", 1)[1].removesuffix(".pth")

if digits_cnn.NAME not in FEATURE_EXTRACTORS_REGISTRY:
    torch_fidelity.register_feature_extractor(digits_cnn.NAME, digits_cnn.DigitsFeatureExtractor)


@dataclass
class Extractor:
    """A torch-fidelity feature extractor with the one layer we read from it."""
    name: str
    layer: str
    module: torch.nn.Module
    device: torch.device

    @torch.no_grad()
    def __call__(self, images: Tensor) -> Tensor:
        """Images [N, 1 or 3, H, W] -> float32 features [N, d] on the CPU: uint8 pixels, or float32 pixels in
        [0, 1] (the float route: 255 u, unrounded, where uint8 would be floor(255 u + 0.5))."""
        if images.dtype == torch.uint8:
            return self.module(to_rgb(images).to(self.device))[0].float().cpu()
        if images.dtype != torch.float32:
            raise ValueError(f"feature extractors take uint8 pixels or float32 ones in [0, 1]; got {images.dtype}")
        if images.numel() and not 0 <= float(images.min()) <= float(images.max()) <= 1:
            raise ValueError(f"float pixels must lie in [0, 1]; got [{float(images.min()):.4g}, "
                             f"{float(images.max()):.4g}]")
        with float_pixels_admitted(self.module):
            return self.module(to_rgb(images * 255).to(self.device))[0].float().cpu()


@contextlib.contextmanager
def float_pixels_admitted(module: torch.nn.Module) -> Iterator[None]:
    """Let a torch-fidelity extractor take float pixels on its uint8 scale while this lasts.

    torch-fidelity's extractors refuse anything but uint8 in one check (`vassert`, "Expecting image as torch.Tensor
    with dtype=torch.uint8"), then convert the pixels to float as their first step, as the TF Inception graph of the
    original FID code took float pixels. Waiving that one check (every other check stands) gives the network the
    unrounded pixels; integer-valued floats give the uint8 route's features bit for bit (tested)."""
    namespace = sys.modules[type(module).__module__]
    check = getattr(namespace, "vassert", None)
    if check is None:  # not torch-fidelity's (the demo's digits-cnn takes floats itself)
        yield
        return

    def vassert(condition: bool, message: str) -> None:
        check(condition or "dtype=torch.uint8" in message, message)

    with mock.patch.object(namespace, "vassert", vassert):
        yield


def check_extractor(name: str, layer: str | None = None) -> str:
    """The layer to read (`layer`, else the extractor's FID layer); ValueError naming a name or layer that
    torch-fidelity's registry lacks, with the nearest registered one."""
    if name not in FEATURE_EXTRACTORS_REGISTRY:
        near = difflib.get_close_matches(str(name), list(FEATURE_EXTRACTORS_REGISTRY), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ValueError(f"unknown feature extractor {name!r}{hint}; registered: "
                         f"{sorted(FEATURE_EXTRACTORS_REGISTRY)}")
    cls = FEATURE_EXTRACTORS_REGISTRY[name]
    layer = layer or cls.get_default_feature_layer_for_metric("fid")
    if layer not in cls.get_provided_features_list():
        raise ValueError(f"extractor {name!r} has no feature layer {layer!r}; it provides "
                         f"{list(cls.get_provided_features_list())}")
    return layer


def load_extractor(name: str = INCEPTION, layer: str | None = None, weights_path: str | os.PathLike | None = None,
                   device: torch.device | str = "cpu") -> Extractor:
    """A registered torch-fidelity extractor by name; `layer` defaults to its FID layer (Inception: 2048)."""
    layer = check_extractor(name, layer)
    if weights_path is not None:
        _check_weights_file(Path(weights_path))
    elif name == INCEPTION and os.environ.get(OFFLINE_ENV) and not inception_hub_path().is_file():
        raise DownloadError(_inception_hint(f"${OFFLINE_ENV} is set, so it is not downloaded"))
    device = torch.device(device)
    return Extractor(name, layer, _create(name, layer, weights_path).to(device), device)


def _create(name: str, layer: str, weights_path: str | os.PathLike | None) -> torch.nn.Module:
    from torch_fidelity.utils import create_feature_extractor

    try:
        return create_feature_extractor(name, [layer], cuda=False, verbose=False,
                                        feature_extractor_weights_path=None if weights_path is None
                                        else str(weights_path))
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError) as e:
        failure = f"downloading it failed ({getattr(e, 'reason', e)})"
        if name == INCEPTION:
            raise DownloadError(_inception_hint(failure)) from None
        raise DownloadError(f"feature extractor {name!r} needs its weights: {failure}. Pass a local copy of them "
                            "with --weights-path (the workflow: extractor.weights_path)") from None


def inception_weights_name() -> str:
    """The Inception weights' file name, as torch.hub and the cache name it."""
    return INCEPTION_WEIGHTS_URL.rsplit("/", 1)[1]


def inception_hub_path() -> Path:
    """Where torch-fidelity (through torch.hub) looks for, and downloads, Inception's weights."""
    return Path(torch.hub.get_dir()) / "checkpoints" / inception_weights_name()


def _inception_hint(failure: str) -> str:
    return (f"feature extractor {INCEPTION!r} needs its weights file {inception_weights_name()}, which is not at "
            f"{inception_hub_path()} (torch.hub's cache), and {failure}. Where there is internet, run "
            f"`ddim-eval fetch-inception` (it prints the file's path), then pass that file with --weights-path (the "
            f"workflow: extractor.weights_path), or place it at {inception_hub_path()}; it comes from "
            f"{INCEPTION_WEIGHTS_URL}")


def _check_weights_file(path: Path) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"feature extractor weights file {path} does not exist")
    if path.suffix != ".safetensors":
        # torch-fidelity loads .pth weights with weights_only=False; prove first that they hold only tensors.
        try:
            torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise ValueError(f"feature extractor weights {path} do not load as plain tensors "
                             f"({type(e).__name__}); refusing to unpickle them") from None


def fetch_inception_weights(cache: str | os.PathLike | None = None, *, allow_download: bool = True) -> Path:
    """torch-fidelity's Inception weights in the cache, checked against the sha256 prefix in their file name
    (as torch.hub checks them). Pass the path as `weights_path` on offline compute nodes."""
    dest = cache_dir(cache) / "torch-fidelity" / inception_weights_name()
    fetch_file(INCEPTION_WEIGHTS_URL, dest, manual=f"download {INCEPTION_WEIGHTS_URL}",
               allow_download=allow_download, what="the Inception weights file")
    digest = file_digest(dest, "sha256")
    if not digest.startswith(INCEPTION_SHA256_PREFIX):
        dest.unlink()
        raise ChecksumError(f"{dest}: sha256 {digest} does not start with {INCEPTION_SHA256_PREFIX}; removed it")
    return dest


def save_random_inception(path: str | os.PathLike) -> Path:
    """torch-fidelity's Inception with its random initialisation, saved atomically as the plain state dict that
    `weights_path` takes: for dress rehearsals and offline tests, where a forward pass costs what the real one
    costs and the features mean nothing."""
    from unittest import mock

    from torch_fidelity import feature_extractor_inceptionv3 as tf_inception

    # Its constructor loads the real weights (from the internet); skip that and keep the initialisation.
    with mock.patch.object(tf_inception, "load_state_dict_from_url", lambda *a, **k: {}), \
            mock.patch.object(tf_inception.FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd: None):
        model = tf_inception.FeatureExtractorInceptionV3(INCEPTION, ["2048"])
    with atomic_path(path) as tmp:
        torch.save(model.state_dict(), tmp)
    return Path(path)
