import io
import pickle
import tarfile

import numpy as np
import pytest

from ddim_eval.data import cifar10, digits
from ddim_eval.data.arrays import load_images, save_images

from helpers import Payload


def test_digits_split_is_fixed_disjoint_and_stratified(digits_images):
    train, test = digits_images
    assert train.shape == (1437, 1, 8, 8) and test.shape == (360, 1, 8, 8)
    assert train.dtype == np.uint8 and train.max() == 255 and train.min() == 0
    _, y_train = digits.load("train")
    _, y_test = digits.load("test")
    assert np.bincount(y_test).min() >= 35  # every class in the test split, 36 each (stratified)
    again, _ = digits.load("train")
    np.testing.assert_array_equal(again, train)
    from sklearn.datasets import load_digits

    assert len(np.unique(np.concatenate([y_train, y_test]))) == 10
    assert len(train) + len(test) == len(load_digits().images)
    rows = {r.tobytes() for r in train.reshape(len(train), -1)}
    assert sum(r.tobytes() in rows for r in test.reshape(len(test), -1)) <= 2  # digits has a few exact duplicates


def test_prepare_and_load(tmp_path, digits_images):
    paths = digits.prepare(tmp_path / "digits")
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
        digits.load("val")


def _fake_cifar10(path, n_per_batch=4, payload=None):
    """A CIFAR-10 python archive in the official layout (pickled dicts with bytes keys), small."""
    rng = np.random.default_rng(0)
    batches = {}
    with tarfile.open(path, "w:gz") as tar:
        for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
            data = rng.integers(0, 256, (n_per_batch, 3072), dtype=np.uint8)
            batches[name] = data
            obj = {b"batch_label": name.encode(), b"labels": [0] * n_per_batch, b"data": data,
                   b"filenames": [b"x.png"] * n_per_batch}
            if payload is not None and name == "test_batch":
                obj[b"extra"] = payload
            blob = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return batches


def test_prepare_cifar10_layout(tmp_path):
    batches = _fake_cifar10(tmp_path / "cifar.tar.gz")
    paths = cifar10.prepare(tmp_path / "cifar.tar.gz", tmp_path / "out")
    train, test = load_images(paths["train"]), load_images(paths["test"])
    assert train.shape == (20, 3, 32, 32) and test.shape == (4, 3, 32, 32)
    # Row layout: 1024 red values, then green, then blue, each row-major over 32x32; batches in order 1..5.
    row = batches["data_batch_2"][1]
    np.testing.assert_array_equal(train[5, 1], row[1024:2048].reshape(32, 32))
    np.testing.assert_array_equal(test[3, 2, 31], batches["test_batch"][3][3072 - 32:])


def test_prepare_cifar10_never_runs_pickled_code(tmp_path):
    sentinel = tmp_path / "pwned"
    _fake_cifar10(tmp_path / "evil.tar.gz", payload=Payload(sentinel))
    with pytest.raises(pickle.UnpicklingError, match="refusing to unpickle "):
        cifar10.prepare(tmp_path / "evil.tar.gz", tmp_path / "out")
    assert not sentinel.exists()
    with tarfile.open(tmp_path / "empty.tar.gz", "w:gz"):
        pass
    with pytest.raises(ValueError, match="has no cifar-10-batches-py/data_batch_1"):
        cifar10.prepare(tmp_path / "empty.tar.gz", tmp_path / "out")


def test_a_damaged_cifar10_archive_names_the_file_and_the_fix(tmp_path):
    (tmp_path / "cifar-10-python.tar.gz").write_bytes(b"\x1f\x8b" + bytes(200))  # a gzip header, then nothing
    with pytest.raises(ValueError, match=r"cifar-10-python.tar.gz is not a readable CIFAR-10 archive \(.*\); delete "
                                         r"it and run `ddim-eval fetch-cifar10` again"):
        cifar10.prepare(tmp_path / "cifar-10-python.tar.gz", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"missing.tar.gz does not exist; `ddim-eval fetch-cifar10`"):
        cifar10.prepare(tmp_path / "missing.tar.gz", tmp_path / "out")
    assert not (tmp_path / "out").exists()
