import numpy as np
import pytest

from ddim_eval.datasets import digits_split, load_images, prepare_digits, save_images


def test_digits_split_is_fixed_disjoint_and_stratified(digits_images):
    train, test = digits_images
    assert train.shape == (1437, 1, 8, 8) and test.shape == (360, 1, 8, 8)
    assert train.dtype == np.uint8 and train.max() == 255 and train.min() == 0
    _, y_train = digits_split("train")
    _, y_test = digits_split("test")
    assert np.bincount(y_test).min() >= 35  # every class in the test split, 36 each (stratified)
    again, _ = digits_split("train")
    np.testing.assert_array_equal(again, train)
    from sklearn.datasets import load_digits

    assert len(np.unique(np.concatenate([y_train, y_test]))) == 10
    assert len(train) + len(test) == len(load_digits().images)
    rows = {r.tobytes() for r in train.reshape(len(train), -1)}
    assert sum(r.tobytes() in rows for r in test.reshape(len(test), -1)) <= 2  # digits has a few exact duplicates


def test_prepare_and_load(tmp_path, digits_images):
    paths = prepare_digits(tmp_path / "digits")
    train = load_images(paths["train"])
    assert isinstance(train, np.memmap)
    np.testing.assert_array_equal(train, digits_images[0])
    assert sorted(p.name for p in (tmp_path / "digits").iterdir()) == ["test.npy", "train.npy"]


def test_bad_arrays(tmp_path):
    with pytest.raises(ValueError, match="empty.npy: the split is empty"):
        save_images(tmp_path / "empty.npy", np.zeros((0, 1, 8, 8), np.uint8))
    np.save(tmp_path / "empty.npy", np.zeros((0, 1, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="empty.npy: the split is empty"):
        load_images(tmp_path / "empty.npy")
    np.save(tmp_path / "float.npy", np.zeros((2, 1, 8, 8), np.float32))
    with pytest.raises(ValueError, match="need uint8 images"):
        load_images(tmp_path / "float.npy")
    np.save(tmp_path / "nhwc.npy", np.zeros((2, 8, 8, 3), np.uint8))
    with pytest.raises(ValueError, match="1 or 3 channels"):
        load_images(tmp_path / "nhwc.npy")
    with pytest.raises(FileNotFoundError, match="missing.npy does not exist"):
        load_images(tmp_path / "missing.npy")
    with pytest.raises(ValueError, match="split 'val'"):
        digits_split("val")
