"""Commands that fetch and prepare datasets into split arrays (uint8 NCHW .npy)."""

from __future__ import annotations

import argparse


def _prepare_digits(args: argparse.Namespace) -> None:
    from ddim_eval.data import digits

    for split, path in digits.prepare(args.out_dir).items():
        print(f"{split}: {path}")


def _fetch_cifar10(args: argparse.Namespace) -> None:
    from ddim_eval.data import cifar10

    print(f"{cifar10.fetch(args.dest)}: md5 {cifar10.MD5} verified")


def _prepare_cifar10(args: argparse.Namespace) -> None:
    from ddim_eval.data import cifar10

    for split, path in cifar10.prepare(args.archive, args.out_dir).items():
        print(f"{split}: {path}")


def _fetch_celeba(args: argparse.Namespace) -> None:
    from ddim_eval.data import celeba

    for path in celeba.fetch(args.out_dir).values():
        print(f"{path}: md5 verified")


def _prepare_celeba(args: argparse.Namespace) -> None:
    from ddim_eval.data import celeba

    print(celeba.prepare(args.archive, args.partition, args.out, args.split, max_images=args.max_images))


def _fetch_lsun(args: argparse.Namespace) -> None:
    from ddim_eval.data import lsun

    print(lsun.fetch(args.root, args.category))


def _prepare_lsun(args: argparse.Namespace) -> None:
    from ddim_eval.data import lsun

    print(lsun.prepare(args.database, args.out, max_images=args.max_images))


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prepare-digits", help="write the demo dataset's train.npy and test.npy (no download)")
    p.add_argument("out_dir")
    p.set_defaults(func=_prepare_digits)

    p = sub.add_parser("fetch-cifar10", help="download the CIFAR-10 python archive, md5-verified (resumable)")
    p.add_argument("dest", help="where the .tar.gz goes")
    p.set_defaults(func=_fetch_cifar10)

    p = sub.add_parser("prepare-cifar10", help="train.npy (50k) and test.npy (10k) from the CIFAR-10 archive")
    p.add_argument("archive")
    p.add_argument("out_dir")
    p.set_defaults(func=_prepare_cifar10)

    p = sub.add_parser("fetch-celeba", help="CelebA's aligned images and partition list, md5-verified "
                       "(Google Drive; says how to place them by hand when it refuses)")
    p.add_argument("out_dir")
    p.set_defaults(func=_fetch_celeba)

    p = sub.add_parser("prepare-celeba", help="one CelebA split, cropped and resized to 64x64 as the paper did")
    p.add_argument("archive", help="img_align_celeba.zip")
    p.add_argument("partition", help="list_eval_partition.txt")
    p.add_argument("out", help="the split's .npy")
    p.add_argument("--split", choices=["train", "valid", "test"], default="train")
    p.add_argument("--max-images", type=int, default=None, help="the first N images of the split")
    p.set_defaults(func=_prepare_celeba)

    p = sub.add_parser("fetch-lsun", help="download and unpack an LSUN training LMDB (resumable)")
    p.add_argument("category", choices=["bedroom", "church_outdoor"])
    p.add_argument("root", help="folder that gets <category>_train_lmdb/")
    p.set_defaults(func=_fetch_lsun)

    p = sub.add_parser("prepare-lsun", help="the first N images of an LSUN LMDB at 256x256, as the paper did")
    p.add_argument("database", help="the <category>_train_lmdb folder")
    p.add_argument("out", help="the split's .npy")
    p.add_argument("--max-images", type=int, required=True)
    p.set_defaults(func=_prepare_lsun)
