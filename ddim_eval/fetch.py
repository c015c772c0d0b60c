"""Files from the internet, verified: a download cache, resumable downloads, checksums, the offline switch, and
weights read safely (safetensors: a format that cannot carry code).

Every fetched file (checkpoints, dataset archives, extractor weights) lands atomically: a `.part` file, verified,
then renamed. An interrupted download resumes from the `.part` file where the server allows it and restarts
otherwise. With $DDIM_EVAL_OFFLINE set nothing is fetched, and a missing file is an error naming where to put it.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

CACHE_ENV = "DDIM_EVAL_CACHE"
OFFLINE_ENV = "DDIM_EVAL_OFFLINE"
_CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A file that cannot be fetched or verified."""


class ChecksumError(FetchError):
    pass


class DownloadError(FetchError):
    pass


class CheckpointError(FetchError):
    """A checkpoint that cannot be loaded: corrupt, truncated, of another layout, or holding more than tensors."""


def load_safetensors(path: Path) -> dict:
    """A state dict of tensors stored as safetensors."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path)
    except (SafetensorError, OSError) as e:
        raise CheckpointError(f"cannot read {path} as safetensors: {e}") from None


def cache_dir(path: str | os.PathLike | None = None) -> Path:
    """The download cache (checkpoints, extractor weights): `path`, else $DDIM_EVAL_CACHE, else
    $XDG_CACHE_HOME/ddim-eval (~/.cache/ddim-eval)."""
    if path is not None:
        return Path(path)
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ddim-eval"


def file_digest(path: Path, algorithm: str) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, algorithm).hexdigest()


def verify_file(path: Path, md5: str | None = None, sha256: str | None = None) -> None:
    """Raise ChecksumError unless `path` has the given digests (those that are not None)."""
    for algorithm, expected in (("md5", md5), ("sha256", sha256)):
        if expected is not None:
            actual = file_digest(path, algorithm)
            if actual != expected:
                raise ChecksumError(f"{path}: {algorithm} is {actual}, expected {expected} "
                                    f"(corrupt or truncated file, or a different file); delete it and fetch again")


def _manual_hint(dest: Path, md5: str | None, sha256: str | None, manual: str) -> str:
    digest = f"md5 {md5}" if md5 else f"sha256 {sha256}" if sha256 else "no published checksum"
    how = f"{manual}, then " if manual else "download it on a machine with internet access and "
    return f"To provide it by hand: {how}place it at {dest} ({digest})."


def download(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None, manual: str = "",
             progress: bool = True) -> Path:
    """Download `url` to `dest`, resuming a previous `.part` file, verifying the digests before the rename."""
    dest = Path(dest)
    if os.environ.get(OFFLINE_ENV):
        raise DownloadError(f"{dest} is missing and ${OFFLINE_ENV} is set, so {url} is not fetched. "
                            + _manual_hint(dest, md5, sha256, manual))
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    start = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": "ddim-eval"}
    if start:
        headers["Range"] = f"bytes={start}-"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=60) as response:
            if start and getattr(response, "status", None) != 206:
                start = 0  # the server sent the whole file: restart rather than append
            if response.headers.get("Content-Type", "").startswith("text/html"):
                raise DownloadError(f"{url} answered with an HTML page instead of the file (a quota, login or "
                                    f"virus-scan page). " + _manual_hint(dest, md5, sha256, manual))
            length = response.headers.get("Content-Length")
            total = start + int(length) if length else None
            with part.open("ab" if start else "wb") as f, tqdm(
                    total=total, initial=start, unit="B", unit_scale=True, desc=dest.name,
                    disable=not progress, file=sys.stderr) as bar:
                while chunk := response.read(_CHUNK):
                    f.write(chunk)
                    bar.update(len(chunk))
            if total is not None and part.stat().st_size < total:
                # http.client returns a short body at a hang-up instead of raising
                raise http.client.IncompleteRead(b"", total - part.stat().st_size)
    except urllib.error.HTTPError as e:
        if not (e.code == 416 and start):  # 416: the .part file already holds every byte
            raise DownloadError(f"downloading {url} failed: HTTP {e.code} {e.reason}. "
                                + _manual_hint(dest, md5, sha256, manual)) from None
    except (urllib.error.URLError, http.client.HTTPException, OSError) as e:
        kept = f" {part.stat().st_size} bytes are kept in {part}; run again to resume." if part.exists() else ""
        raise DownloadError(f"downloading {url} failed ({type(e).__name__}: {e}); offline?{kept} "
                            + _manual_hint(dest, md5, sha256, manual)) from None
    try:
        verify_file(part, md5, sha256)
    except ChecksumError:
        part.unlink()
        raise
    os.replace(part, dest)
    return dest


def fetch_file(url: str, dest: Path, *, md5: str | None = None, sha256: str | None = None, manual: str = "",
               allow_download: bool = True, progress: bool = True, what: str = "file") -> Path:
    """`dest`, verified when it exists, else downloaded from `url` (and verified); the given digests only."""
    dest = Path(dest)
    if dest.exists():
        verify_file(dest, md5, sha256)
    elif not allow_download:
        raise FetchError(f"{what} is not at {dest} and downloading is off. "
                              + _manual_hint(dest, md5, sha256, manual))
    else:
        download(url, dest, md5=md5, sha256=sha256, manual=manual, progress=progress)
    return dest
