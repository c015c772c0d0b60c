"""Which device a job runs on: `check_device` refuses, before any work, a device this machine lacks; and a GPU
per job when several jobs share a machine with several GPUs.

Snakemake runs local jobs side by side (`--resources gpu=<count>` caps how many GPU jobs run at once) but does not
tell a job which GPU to use. A job asking for plain "cuda" on a machine with more than one visible GPU therefore
claims the first GPU no other ddim-eval process holds, through an exclusive lock file per GPU, kept until the
process exits (the kernel drops the lock when a process dies, so a killed job frees its GPU). Under SLURM each
job sees only its own GPU, and nothing is locked.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import IO

LOCK_DIR_ENV = "DDIM_EVAL_LOCK_DIR"
_held: list[IO] = []  # open lock files: the claims of this process


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
