"""The demo world's feature extractor: a small CNN classifier of 8x8 digits, registered with torch-fidelity.

Registered as `digits-cnn`, it goes through exactly the code path Inception does (torch-fidelity's extractor
interface, uint8 RGB NCHW in, named feature layers out), so demo FID is computed as Inception FID is, only on other
features. Its feature layer `64` is the penultimate activation; `logits` are the class scores. Numbers computed
with it are "digits-cnn FID", never Inception FID.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import torch
from torch import Tensor, nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from tqdm.auto import tqdm

NAME = "digits-cnn"
FEATURE_LAYER = "64"
PACKAGED_WEIGHTS = Path(str(files("ddim_eval.models") / "weights" / "digits-cnn.safetensors"))
PACKAGED_SHA256 = "e0ad83ef4337bb1f480c1ef24848f4b49ce4e250aac6ff21013a2d622eeee842"


class DigitsCNN(nn.Module):
    """Conv(32) - Conv(64) - pool - Conv(64) - pool - Linear(64) features - Linear(10) logits, on 8x8 inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(64 * 2 * 2, 64), nn.ReLU(),
        )
        self.head = nn.Linear(64, 10)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """x: float images in [0, 1], [N, 1, 8, 8] -> (features [N, 64], logits [N, 10])."""
        features = self.body(x)
        return features, self.head(features)


def pixels_to_input(images: Tensor) -> Tensor:
    """Pixels [N, 1 or 3, 8, 8] (uint8, or float on the 0..255 scale) -> the CNN's float [N, 1, 8, 8] in [0, 1] (RGB
    copies of gray are averaged)."""
    return images.float().mean(1, keepdim=True) / 255


def train_digits_cnn(images: np.ndarray, labels: np.ndarray, *, epochs: int = 40, batch_size: int = 64,
                     lr: float = 1e-3, seed: int = 0, progress: bool = True) -> DigitsCNN:
    """Train the classifier on uint8 images [N, 1, 8, 8] with integer labels (Adam, cross-entropy, CPU)."""
    torch.manual_seed(seed)
    model = DigitsCNN()
    x = pixels_to_input(torch.as_tensor(np.asarray(images)))
    y = torch.as_tensor(np.asarray(labels))
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(seed)
    for _ in tqdm(range(epochs), desc="train digits-cnn", disable=not progress):
        for idx in torch.randperm(len(x), generator=gen).split(batch_size):
            loss = nn.functional.cross_entropy(model(x[idx])[1], y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return model.eval().requires_grad_(False)


@torch.no_grad()
def accuracy(model: DigitsCNN, images: np.ndarray, labels: np.ndarray) -> float:
    logits = model(pixels_to_input(torch.as_tensor(np.asarray(images))))[1]
    return float((logits.argmax(1) == torch.as_tensor(np.asarray(labels))).float().mean())


def load_digits_cnn(path: str | Path | None = None) -> DigitsCNN:
    """The trained classifier: the packaged weights (sha256-verified) or a file given by `path`."""
    from ddim_eval.fetch import load_safetensors, verify_file

    if path is None:
        path = PACKAGED_WEIGHTS
        verify_file(path, sha256=PACKAGED_SHA256)
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"digits-cnn weights file {path} does not exist")
    model = DigitsCNN()
    model.load_state_dict(load_safetensors(path))
    return model.eval().requires_grad_(False)


class DigitsFeatureExtractor(FeatureExtractorBase):
    """torch-fidelity's view of DigitsCNN: uint8 RGB NCHW in, a tuple of the requested layers out."""

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs) -> None:
        super().__init__(name, features_list)
        self.cnn = load_digits_cnn(feature_extractor_weights_path)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return (FEATURE_LAYER, "logits")

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        return FEATURE_LAYER

    @staticmethod
    def can_be_compiled() -> bool:
        return False

    @staticmethod
    def get_dummy_input_for_compile() -> Tensor:
        return torch.zeros(1, 3, 8, 8, dtype=torch.uint8)

    def forward(self, x: Tensor) -> tuple[Tensor, ...]:
        """x: pixels [N, 3, 8, 8], uint8 or float32 on the same 0..255 scale (unrounded samples)."""
        if x.dtype not in (torch.uint8, torch.float32) or x.ndim != 4 or tuple(x.shape[1:]) != (3, 8, 8):
            raise ValueError(f"{NAME} takes uint8 or float32 pixels [N, 3, 8, 8]; got {x.dtype} {tuple(x.shape)}")
        features, logits = self.cnn(pixels_to_input(x))
        out = {FEATURE_LAYER: features, "logits": logits}
        return tuple(out[name] for name in self.features_list)
