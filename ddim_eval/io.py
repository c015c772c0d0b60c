"""Files: atomic outputs (written under a temporary name in the target folder, renamed into place when complete),
reading .npz and JSON, and the order of a cell's shard files."""

from __future__ import annotations

import json
import os
import re
import tempfile
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

PACKAGE = Path(__file__).resolve().parent  # the installed package: its data files are pinned by checksums


def check_output(path: str | os.PathLike, folder: bool = False) -> Path:
    """`path` as a Path if it can be written, checked before any work: ValueError for a file inside the installed
    package (its weights and tables are pinned by checksums), under a folder that is not writable, or (unless
    `path` is to be a `folder`) where a folder already is."""
    path = Path(path)
    if not folder and path.is_dir():
        raise ValueError(f"{path} is a folder; give the path of the file to write")
    resolved = path.resolve()
    if resolved.is_relative_to(PACKAGE):
        raise ValueError(f"{path} lies inside the installed ddim_eval package ({PACKAGE}), whose files are pinned by "
                         "checksums; write it to another folder")
    existing = next(p for p in [resolved, *resolved.parents] if p.exists())
    parent = existing if existing.is_dir() else existing.parent
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"cannot write {path}: the folder {parent} is not writable")
    return path


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path` (`check_output` first); on success rename it to `path`, on failure
    remove it.

    A reader never sees a half-written file, and an interrupted writer leaves only a hidden temp file behind.
    """
    path = check_output(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        # mkstemp makes the file private (0600); give it the permissions a plain open() would have.
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save_npz(path: str | os.PathLike, **arrays: Any) -> Path:
    """`np.savez` atomically (uncompressed; strings are stored as 0-d unicode arrays, no pickles)."""
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)
    return Path(path)


def save_json(path: str | os.PathLike, record: dict[str, Any]) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(record, indent=2) + "\n")
    return Path(path)


def load_json(path: str | os.PathLike) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def load_npz(path: str | os.PathLike, keys: tuple[str, ...], what: str, optional: tuple[str, ...] = ()
             ) -> dict[str, np.ndarray]:
    """The arrays `keys` of an `.npz` file, and those of `optional` it holds (no pickles), or an error naming the
    file and what it should be."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} file {path} does not exist")
    if not zipfile.is_zipfile(path):  # before np.load, whose message for a text file suggests unpickling it
        raise ValueError(f"{path} is not a readable {what} file: an .npz is a zip archive of arrays, and this is "
                         f"{'empty' if path.stat().st_size == 0 else 'no zip archive (truncated, or another format)'}")
    try:
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in keys} | {k: z[k] for k in optional if k in z.files}
    except (KeyError, ValueError, OSError, EOFError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path} is not a readable {what} file (needs {', '.join(keys)}): "
                         f"{type(e).__name__}: {e}") from None


SHARD_DIR = re.compile(r"^shard(\d+)$")
# Where a shard's unfinished work lives, beside its outputs: while it exists, the outputs there are not this work's.
PARTIAL = ".partial"


def shard_order(paths: Sequence[str | os.PathLike]) -> list[str | os.PathLike]:
    """`paths` ordered by the index k of their `shard<k>` folder (a shell glob puts shard10 before shard2), or as
    given when no path names a shard; ValueError for a mix, a shard given twice, a gap in the indices, or a file
    beside unfinished work (`PARTIAL`: what lies there is an earlier run's, or about to be replaced)."""
    unfinished = [str(p) for p in paths if (Path(p).parent / PARTIAL).exists()]
    if unfinished:
        raise ValueError(f"{unfinished[0]}: its folder holds unfinished work ({PARTIAL}/); rerun the command that "
                         "writes it (`ddim-eval sample` resumes) before reading its outputs")
    indices = [next((int(m[1]) for part in reversed(Path(p).parts[:-1]) if (m := SHARD_DIR.match(part))), None)
               for p in paths]
    if all(k is None for k in indices):
        return list(paths)
    if any(k is None for k in indices):
        raise ValueError(f"some files lie in shard<k> folders and some do not: {[str(p) for p in paths]}")
    repeated = sorted({k for k in indices if indices.count(k) > 1})
    missing = sorted(set(range(min(indices), max(indices) + 1)) - set(indices))
    if repeated or missing:
        raise ValueError(f"shards {repeated} are given twice" if repeated else
                         f"shards {missing} are missing between shard {min(indices)} and shard {max(indices)}")
    return [p for _, p in sorted(zip(indices, paths), key=lambda pair: pair[0])]
