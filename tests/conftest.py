from pathlib import Path

import pytest

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
    from ddim_eval.datasets import digits_split

    return digits_split("train")[0], digits_split("test")[0]
