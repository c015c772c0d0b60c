"""Which device a job runs on: a device's name checked (`check_device_name`, torch-free, at DAG build) and
resolved ("auto"); `check_device` refuses, before any work, a device this machine lacks; the GPUs a machine shows
(`visible_gpus`, torch-free: the workflow runs at most that many GPU jobs at once); and a GPU per job when several
jobs share a machine with several GPUs.

Snakemake runs local jobs side by side (the `gpu` resource caps how many GPU jobs run at once) but does not
tell a job which GPU to use. A job asking for plain "cuda" on a machine with more than one visible GPU therefore
claims the first GPU no other ddim-eval process holds, through an exclusive lock file per GPU, kept until the
process exits (the kernel drops the lock when a process dies, so a killed job frees its GPU). Under SLURM each
job sees only its own GPU, and nothing is locked.
"""

from __future__ import annotations

import difflib
import fcntl
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import IO

LOCK_DIR_ENV = "DDIM_EVAL_LOCK_DIR"
_held: list[IO] = []  # open lock files: the claims of this process
DEVICE_NAMES = ("auto", "cpu", "cuda", "cuda:<index>", "mps")
AUTO = "auto"  # a GPU where one is visible, else the CPU


def check_device_name(device: object, key: str = "device") -> str:
    """`device` if it is one of DEVICE_NAMES, else ValueError naming `key`, the value and what is allowed."""
    if isinstance(device, str) and re.fullmatch(r"auto|cpu|mps|cuda(:[0-9]+)?", device):
        return device
    near = difflib.get_close_matches(str(device), ["auto", "cpu", "cuda", "mps"], n=1)
    hint = f" (did you mean {near[0]!r}?)" if near else ""
    raise ValueError(f"{key}: {device!r} is not a device{hint}; allowed: {', '.join(DEVICE_NAMES)}")


def resolve_device(device: str) -> str:
    """"auto" as "cuda" where torch sees a GPU, else "cpu"; any other name unchanged."""
    if device != AUTO:
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def visible_gpus() -> int:
    """How many NVIDIA GPUs a process started here may use, without importing torch: the entries of
    CUDA_VISIBLE_DEVICES when it is set (CUDA stops at the first negative one), else the GPUs `nvidia-smi -L`
    lists, else 0."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        count = 0
        for entry in (v.strip() for v in visible.split(",")):
            if not entry or entry.startswith("-"):
                break
            count += 1
        return count
    try:
        listing = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return 0
    return sum(line.startswith("GPU ") for line in listing.stdout.splitlines()) if listing.returncode == 0 else 0


def check_device(device: str) -> None:
    """ValueError, saying what to do, unless `device` names a torch device that this machine has."""
    import torch

    try:
        kind = torch.device(device)
    except RuntimeError:
        raise ValueError(f"device {device!r} is not a torch device; use cpu, cuda or cuda:<index>") from None
    if kind.type != "cuda":
        return
    if not torch.cuda.is_available():
        why = ("this torch build has no CUDA support" if torch.version.cuda is None else
               f"no NVIDIA GPU or driver is visible (torch {torch.__version__} is built for CUDA {torch.version.cuda})")
        raise ValueError(f"device {device!r} was asked for, but CUDA is not available: {why}. Pass --device cpu "
                         "(the workflow: device: cpu), or run on a machine with an NVIDIA GPU")
    if kind.index is not None and kind.index >= torch.cuda.device_count():
        raise ValueError(f"device {device!r} was asked for, but this machine has {torch.cuda.device_count()} "
                         f"visible GPU(s): cuda:0..cuda:{torch.cuda.device_count() - 1}")


def claim_device(device: str) -> str:
    """`device`, or for plain "cuda" with several visible GPUs, `"cuda:<i>"` of a GPU this process now holds."""
    import torch

    if device != "cuda" or not torch.cuda.is_available() or torch.cuda.device_count() < 2:
        return device
    return f"cuda:{claim_index(torch.cuda.device_count())}"


def claim_index(count: int, lock_dir: str | os.PathLike | None = None, poll: float = 1.0) -> int:
    """The first of `count` slots whose lock file this process can lock exclusively, waiting while all are held."""
    lock_dir = Path(lock_dir or os.environ.get(LOCK_DIR_ENV) or tempfile.gettempdir())
    lock_dir.mkdir(parents=True, exist_ok=True)
    while True:
        for i in range(count):
            # World-writable, so users sharing a machine share its GPUs' locks.
            fd = os.open(lock_dir / f"ddim-eval-gpu{i}.lock", os.O_RDWR | os.O_CREAT, 0o666)
            f = os.fdopen(fd, "r+")
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                f.close()
                continue
            _held.append(f)
            return i
        time.sleep(poll)


def release_all() -> None:
    """Drop every claim of this process (process exit does the same)."""
    while _held:
        _held.pop().close()
