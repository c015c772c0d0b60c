"""Image features through torch-fidelity's feature extractors (Inception by default, any registered one by name).

Images enter as uint8 NCHW, grayscale repeated to RGB, exactly what torch-fidelity's own `calculate_metrics`
feeds its extractors. Without internet, Inception needs its weights file: fetch it once with
`ddim-eval fetch-inception` and pass the path as `weights_path` (torch-fidelity's `feature_extractor_weights_path`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch_fidelity
from torch import Tensor
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY
from tqdm.auto import tqdm

from ddim_eval import digits_cnn
from ddim_eval.images import to_rgb
from ddim_eval.io import load_npz, save_npz
from ddim_eval.stats import FeatureStats, from_features, merge, save_stats

INCEPTION = "inception-v3-compat"
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
        """uint8 images [N, 1 or 3, H, W] -> float32 features [N, d] on the CPU."""
        if images.dtype != torch.uint8:
            raise ValueError(f"feature extractors take uint8 pixels; got {images.dtype}")
        return self.module(to_rgb(images).to(self.device))[0].float().cpu()


def load_extractor(name: str = INCEPTION, layer: str | None = None, weights_path: str | os.PathLike | None = None,
                   device: torch.device | str = "cpu") -> Extractor:
    """A registered torch-fidelity extractor by name; `layer` defaults to its FID layer (Inception: 2048)."""
    from torch_fidelity.utils import create_feature_extractor

    if name not in FEATURE_EXTRACTORS_REGISTRY:
        raise ValueError(f"unknown feature extractor {name!r}; registered: {sorted(FEATURE_EXTRACTORS_REGISTRY)}")
    cls = FEATURE_EXTRACTORS_REGISTRY[name]
    layer = layer or cls.get_default_feature_layer_for_metric("fid")
    if layer not in cls.get_provided_features_list():
        raise ValueError(f"extractor {name!r} has no feature layer {layer!r}; it provides "
                         f"{list(cls.get_provided_features_list())}")
    if weights_path is not None:
        _check_weights_file(Path(weights_path))
    device = torch.device(device)
    module = create_feature_extractor(name, [layer], cuda=False, verbose=False,
                                      feature_extractor_weights_path=None if weights_path is None
                                      else str(weights_path))
    return Extractor(name, layer, module.to(device), device)


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


def batches(images: np.ndarray, batch_size: int) -> Iterator[Tensor]:
    """uint8 image batches from an array (memory-mapped arrays are read one batch at a time)."""
    for start in range(0, len(images), batch_size):
        yield torch.from_numpy(np.array(images[start:start + batch_size]))  # a writable copy of the slice


def extract(extractor: Extractor, image_batches: Iterable[Tensor], *, total: int | None = None,
            progress: bool = True) -> tuple[np.ndarray, FeatureStats]:
    """Features of every batch (float32 [N, d]) and their float64 statistics, accumulated batch by batch."""
    chunks, stats = [], None
    with tqdm(total=total, desc=f"features ({extractor.name})", unit="img", disable=not progress) as bar:
        for batch in image_batches:
            f = extractor(batch).numpy()
            part = from_features(f, extractor.name, extractor.layer)
            stats = part if stats is None else merge(stats, part)
            chunks.append(f)
            bar.update(len(f))
    if stats is None:
        raise ValueError("no images to extract features from")
    return np.concatenate(chunks), stats


def save_features(path: str | os.PathLike, features: np.ndarray, extractor: str, layer: str) -> Path:
    """Write features (float32 [N, d]) with the extractor and layer that made them, atomically."""
    return save_npz(path, features=features.astype(np.float32), extractor=np.str_(extractor), layer=np.str_(layer))


def save_feature_set(out_dir: str | os.PathLike, features: np.ndarray, stats: FeatureStats) -> None:
    """`features.npz` and `stats.npz` of one image set in `out_dir`, each written atomically."""
    out_dir = Path(out_dir)
    save_features(out_dir / "features.npz", features, stats.extractor, stats.layer)
    save_stats(out_dir / "stats.npz", stats)


def load_features(path: str | os.PathLike, extractor: str | None = None, layer: str | None = None) -> np.ndarray:
    """Read a features file, refusing one from another extractor or layer when those are given."""
    z = load_npz(path, ("features", "extractor", "layer"), "ddim-eval features")
    got = {"extractor": str(z["extractor"]), "layer": str(z["layer"])}
    for key, want in (("extractor", extractor), ("layer", layer)):
        if want is not None and got[key] != want:
            raise ValueError(f"{path} holds features of {got['extractor']} layer {got['layer']}; "
                             f"expected {key} {want!r}")
    return z["features"]
