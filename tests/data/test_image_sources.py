"""CelebA and LSUN preparation on small archives made here in the real files' layouts."""

import io
import zipfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

from ddim_eval.data import celeba, lsun
from ddim_eval.data.arrays import load_images
from ddim_eval.data.resize import resize
from ddim_eval.fetch import ChecksumError, DownloadError, FetchError

WHITE = (255, 255, 255)


def png_bytes(image: Image.Image, fmt: str = "PNG", **kwargs) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format=fmt, **kwargs)
    return buf.getvalue()


def boxed(size: tuple[int, int], box: tuple[int, int, int, int], color: tuple[int, int, int]) -> Image.Image:
    """A white image of `size` (w, h) with `box` (left, top, right, bottom) filled with `color`."""
    image = Image.new("RGB", size, WHITE)
    image.paste(color, box)
    return image


@pytest.fixture
def celeba_files(tmp_path):
    """Five aligned-size images; the official crop box holds a colour, everything around it is white."""
    colors = [(10 * i, 100, 200 - 10 * i) for i in range(1, 6)]
    archive, partition = tmp_path / "img_align_celeba.zip", tmp_path / "list_eval_partition.txt"
    box = (25, 57, 25 + 128, 57 + 128)  # the official crop: top 57, left 25, 128x128 (centre x 89, y 121)
    with zipfile.ZipFile(archive, "w") as z:
        for i, color in enumerate(colors, 1):
            z.writestr(f"img_align_celeba/{i:06d}.jpg", png_bytes(boxed((178, 218), box, color)))
    partition.write_text("".join(f"{i:06d}.jpg {s}\n" for i, s in enumerate([0, 0, 0, 1, 2], 1)))
    return archive, partition, colors


def test_celeba_crop_box_and_splits(tmp_path, celeba_files):
    archive, partition, colors = celeba_files
    train = load_images(celeba.prepare(archive, partition, tmp_path / "train.npy", "train", verify=False))
    assert train.shape == (3, 3, 64, 64)
    # Exactly the box: a crop off by one pixel would pull white into the border pixels.
    for image, color in zip(train, colors[:3]):
        assert (image == np.array(color, np.uint8)[:, None, None]).all()
    test = load_images(celeba.prepare(archive, partition, tmp_path / "test.npy", "test", verify=False))
    assert (test[0] == np.array(colors[4], np.uint8)[:, None, None]).all()
    first = load_images(celeba.prepare(archive, partition, tmp_path / "two.npy", "train", max_images=2,
                                       verify=False))
    np.testing.assert_array_equal(first, train[:2])


def test_celeba_resize_is_pil_bilinear():
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (218, 178, 3), dtype=np.uint8))
    expected = image.crop((25, 57, 153, 185)).resize((64, 64), Image.BILINEAR)
    np.testing.assert_array_equal(celeba.preprocess(image), np.asarray(expected).transpose(2, 0, 1))
    with pytest.raises(ValueError, match="178x218"):
        celeba.preprocess(Image.new("RGB", (64, 64)))


@pytest.mark.parametrize("name", ["bicubic", "lanczos", "box", "nearest"])
def test_other_resize_filters_are_pils_filters(name):
    """The protocol study's other filters: each PIL's own (antialiased), each a different image from the paper's."""
    image = Image.fromarray(np.random.default_rng(1).integers(0, 256, (218, 178, 3), dtype=np.uint8))
    crop = image.crop((25, 57, 153, 185))
    expected = crop.resize((64, 64), getattr(Image.Resampling, name.upper()))
    np.testing.assert_array_equal(celeba.preprocess(image, name), np.asarray(expected).transpose(2, 0, 1))
    assert not np.array_equal(celeba.preprocess(image, name), celeba.preprocess(image))


@pytest.mark.parametrize("size", [140, 108, 178])
def test_other_celeba_crops_are_torchvisions_centre_crops(size):
    image = Image.fromarray(np.random.default_rng(3).integers(0, 256, (218, 178, 3), dtype=np.uint8))
    expected = T.Resize(64)(T.CenterCrop(size)(image))
    np.testing.assert_array_equal(celeba.preprocess(image, crop=f"center-{size}"),
                                  np.asarray(expected).transpose(2, 0, 1))
    with pytest.raises(ValueError, match=r"CelebA crop 'center-64': allowed \['ddim', 'center-140'"):
        celeba.preprocess(image, crop="center-64")


def test_the_aliased_filter_is_torch_bilinear_interpolation_without_antialiasing():
    image = Image.fromarray(np.random.default_rng(2).integers(0, 256, (300, 400, 3), dtype=np.uint8))
    pixels = torch.from_numpy(np.asarray(image).transpose(2, 0, 1).copy())[None].float()
    expected = F.interpolate(pixels, size=(256, 341), mode="bilinear", align_corners=False)[0].round().byte()
    resized = np.asarray(resize(image, 256, "bilinear-aliased")).transpose(2, 0, 1)
    np.testing.assert_array_equal(resized, expected.numpy())
    assert not np.array_equal(resized, np.asarray(resize(image, 256)).transpose(2, 0, 1))
    with pytest.raises(ValueError, match=r"resize filter 'area': allowed \['bilinear', 'bicubic'"):
        resize(image, 256, "area")


def test_a_split_prepared_anew_with_another_filter_streams_the_same_images(tmp_path, celeba_files, lsun_images):
    archive, partition, _ = celeba_files
    paper = load_images(celeba.prepare(archive, partition, tmp_path / "train.npy", "train", verify=False))
    stream, n = celeba.images(archive, partition, "train", resize_filter="bicubic", verify=False)
    assert n == 3 and np.array_equal(np.stack(list(stream)), paper)  # flat colour boxes: every filter agrees
    with pytest.raises(ValueError, match="resize filter 'cubic'"):
        celeba.images(archive, partition, "train", resize_filter="cubic", verify=False)
    write_lmdb(tmp_path / "db", [data for data, _ in lsun_images])
    with lsun.images(tmp_path / "db", max_images=2, resize_filter="nearest") as (stream, n):
        assert n == 2 and np.stack(list(stream)).shape == (2, 3, 256, 256)


def test_celeba_checks_files_and_input(tmp_path, celeba_files):
    archive, partition, _ = celeba_files
    with pytest.raises(ChecksumError, match="00d2c5bc6d35e252742224ab0c1e8fcb"):
        celeba.prepare(archive, partition, tmp_path / "x.npy", "train")
    with pytest.raises(ValueError, match="'val'.*'train', 'valid', 'test'"):
        celeba.prepare(archive, partition, tmp_path / "x.npy", "val", verify=False)
    partition.write_text("000001.jpg 0\n000002.jpg train\n")
    with pytest.raises(ValueError, match=r"list_eval_partition.txt:2"):
        celeba.prepare(archive, partition, tmp_path / "x.npy", "train", verify=False)
    assert not (tmp_path / "x.npy").exists()


def test_celeba_fetch_offline_says_what_to_place_where(tmp_path, monkeypatch):
    monkeypatch.setenv("DDIM_EVAL_OFFLINE", "1")
    with pytest.raises(DownloadError) as e:
        celeba.fetch(tmp_path / "celeba")
    message = str(e.value)
    assert "drive.google.com/file/d/0B7EVK8r0v71pZjFTYXZWM3FlRnM" in message
    assert str(tmp_path / "celeba" / "img_align_celeba.zip") in message and "00d2c5bc6d35e252742224ab0c1e8fcb" in message
    # Placed by hand but a different file: the md5 check names it.
    (tmp_path / "celeba").mkdir()
    (tmp_path / "celeba" / "img_align_celeba.zip").write_bytes(b"not celeba")
    with pytest.raises(ChecksumError, match="img_align_celeba.zip: md5"):
        celeba.fetch(tmp_path / "celeba", allow_download=False)


def write_lmdb(path, images: list[bytes]) -> None:
    import lmdb

    env = lmdb.open(str(path), map_size=1 << 26)
    with env.begin(write=True) as txn:
        for i, data in enumerate(images):
            txn.put(f"{i:040x}".encode(), data)
    env.close()


@pytest.fixture
def lsun_images():
    """Landscape and portrait images whose centre square holds a colour, and one needing a resize."""
    return [
        (png_bytes(boxed((512, 256), (128, 0, 384, 256), (200, 30, 30)), "WEBP", lossless=True), (200, 30, 30)),
        (png_bytes(boxed((256, 600), (0, 172, 256, 428), (30, 200, 30))), (30, 200, 30)),
        (png_bytes(Image.new("RGB", (700, 400), (30, 30, 200))), (30, 30, 200)),
    ]


def test_lsun_resize_centre_crop_and_order(tmp_path, lsun_images):
    write_lmdb(tmp_path / "bedroom_train_lmdb", [data for data, _ in lsun_images])
    images = load_images(lsun.prepare(tmp_path / "bedroom_train_lmdb", tmp_path / "train.npy", max_images=10))
    assert images.shape == (3, 3, 256, 256)
    for image, (_, color) in zip(images, lsun_images):
        assert (image == np.array(color, np.uint8)[:, None, None]).all()
    two = load_images(lsun.prepare(tmp_path / "bedroom_train_lmdb", tmp_path / "two.npy", max_images=2))
    np.testing.assert_array_equal(two, images[:2])


def test_lsun_bad_entry_and_missing_database(tmp_path, lsun_images):
    write_lmdb(tmp_path / "db", [lsun_images[0][0], b"not an image"])
    with pytest.raises(ValueError, match="entry .* is not a readable image"):
        lsun.prepare(tmp_path / "db", tmp_path / "out.npy", max_images=5)
    assert not (tmp_path / "out.npy").exists()
    with pytest.raises(FileNotFoundError, match="no data.mdb"):
        lsun.prepare(tmp_path / "nowhere", tmp_path / "out.npy", max_images=5)


def test_lsun_fetch_unpacks_a_placed_archive(tmp_path, lsun_images, monkeypatch):
    monkeypatch.setenv("DDIM_EVAL_OFFLINE", "1")
    root = tmp_path / "lsun"
    with pytest.raises(FetchError) as e:
        lsun.fetch(root, "church_outdoor")
    assert "http://dl.yf.io/lsun/scenes/church_outdoor_train_lmdb.zip" in str(e.value)
    assert str(root / "church_outdoor_train_lmdb.zip") in str(e.value)
    write_lmdb(tmp_path / "church_outdoor_train_lmdb", [data for data, _ in lsun_images])
    root.mkdir()
    with zipfile.ZipFile(root / "church_outdoor_train_lmdb.zip", "w") as z:
        for f in (tmp_path / "church_outdoor_train_lmdb").iterdir():
            z.write(f, f"church_outdoor_train_lmdb/{f.name}")
    database = lsun.fetch(root, "church_outdoor")
    assert database == root / "church_outdoor_train_lmdb" and (database / "data.mdb").is_file()
    assert not (root / "church_outdoor_train_lmdb.zip").exists()  # removed once unpacked
    assert len(load_images(lsun.prepare(database, tmp_path / "train.npy", max_images=3))) == 3
    with zipfile.ZipFile(root / "bedroom_train_lmdb.zip", "w") as z:
        z.writestr("something/else.txt", "x")
    with pytest.raises(ValueError, match="holds no bedroom_train_lmdb/data.mdb"):
        lsun.fetch(root, "bedroom")
