from pathlib import Path

import pytest

from helpers import PAYLOAD, FileServer

REFERENCE = Path(__file__).resolve().parents[1].parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference() -> Path:
    """../shared/reference: the official-code fixtures, kept outside the project (a user's clone lacks them)."""
    if not REFERENCE.is_dir():
        pytest.skip(f"{REFERENCE} is absent: the official-code fixtures live beside the checkout, not in it")
    return REFERENCE


@pytest.fixture(scope="session")
def digits_images():
    """The demo dataset's (train, test) uint8 image arrays."""
    from ddim_eval.data import digits

    return digits.load("train")[0], digits.load("test")[0]


@pytest.fixture
def server():
    """A local HTTP server serving /model.ckpt (PAYLOAD)."""
    s = FileServer()
    s.files["/model.ckpt"] = PAYLOAD
    yield s
    s.httpd.shutdown()
