"""Data: prepared split arrays (uint8 NCHW `.npy`), the exact conversion between model space and pixels, a user's
sample set however it was saved (a folder of images, an .npz, an .npy), the resize filters (the paper's and others),
and one module per source, each with its SPLITS, `prepare` and (where downloadable) `fetch`: digits, cifar10,
celeba, lsun.

Names load on first use (lazy_loader).
"""

import lazy_loader as lazy

__getattr__, __dir__, __all__ = lazy.attach(
    __name__,
    submodules=["celeba", "cifar10", "digits", "lsun", "resize"],
    submod_attrs={
        "arrays": ["load_images", "save_image_stream", "save_images"],
        "images": ["check_finite", "from_uint8", "to_rgb", "to_uint8", "to_unit", "unit_to_uint8"],
        "sample_sets": ["SampleSet", "open_sample_set"],
    },
)
