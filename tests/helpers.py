"""Small shared builders for the tests."""

import hashlib
import http.server
import os
import pathlib
import sys
import threading
from functools import cache
from importlib import metadata

import torch
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from ddim_eval.models.unet import build_unet, eps_model_from_unet

ROOT = pathlib.Path(__file__).resolve().parents[1]  # the repository

TINY_UNET = dict(ch=32, ch_mult=[1, 2], num_res_blocks=1, attn_resolutions=[4], dropout=0.0, resolution=8,
                 in_channels=3, out_ch=3, resamp_with_conv=True)


def tiny_unet(seed: int = 0, dtype: torch.dtype = torch.float32):
    """A small random DDPM U-Net (8x8, official architecture) whose output depends on t."""
    torch.manual_seed(seed)
    unet = build_unet(TINY_UNET).to(dtype)
    # diffusers zero-initialises nothing here, but scale up the output so eps is O(1) and errors show.
    return unet, eps_model_from_unet(unet)


class Payload:
    """Unpickling this creates the file `target`: proof of whether a loader runs pickled code."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return pathlib.Path.touch, (pathlib.Path(self.target),)


PAYLOAD = bytes(range(256)) * 4096  # 1 MiB, served as /model.ckpt by the `server` fixture
MD5 = hashlib.md5(PAYLOAD).hexdigest()


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that hangs up: what the tests make happen
            super().handle_error(request, client_address)


class FileServer:
    """A local HTTP server for `files`, with switches for Range support, early hang-ups and HTML answers."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.ranges = True
        self.cut_after: int | None = None  # send only this many body bytes, then hang up
        self.content_type = "application/octet-stream"
        self.requests: list[dict] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                server.requests.append(dict(self.headers))
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                if server.ranges and self.headers.get("Range"):
                    start = int(self.headers["Range"].removeprefix("bytes=").rstrip("-"))
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                else:
                    self.send_response(200)
                self.send_header("Content-Type", server.content_type)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                chunk = body[start:] if server.cut_after is None else body[start:start + server.cut_after]
                self.wfile.write(chunk)

        self.httpd = _QuietServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def requirement_closure(root: str = "ddim-eval") -> set[str]:
    """Canonical names of the installed distributions that `pip install -e .` brings: `root` and, recursively,
    the requirements that apply without extras (and the extras that a requirement itself names)."""
    closure, todo = set(), [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        key = (canonicalize_name(name), extras)
        if key in closure:
            continue
        closure.add(key)
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue  # a requirement for another platform or Python
        for line in requires:
            req = Requirement(line)
            if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append((req.name, frozenset(req.extras)))
    return {name for name, _ in closure}


@cache
def absent_without_test_extra() -> frozenset[str]:
    """Top-level modules of installed distributions that `pip install -e .` does not bring (pytest, snakefmt, ...)."""
    closure = requirement_closure()
    return frozenset(module for module, dists in metadata.packages_distributions().items()
                     if not any(canonicalize_name(d) in closure for d in dists))


def main_install_env(also_absent: tuple[str, ...] = ()) -> dict[str, str]:
    """The environment for a subprocess that sees only what `pip install -e .` installs (tests/main_install)."""
    guard = str(ROOT / "tests" / "main_install")
    path = os.pathsep.join(filter(None, [guard, os.environ.get("PYTHONPATH")]))
    absent = ",".join(sorted(absent_without_test_extra() | set(also_absent)))
    return os.environ | {"PYTHONPATH": path, "DDIM_EVAL_TEST_ABSENT": absent}


def fake_nvidia_smi(folder, gpus: int) -> str:
    """A PATH whose nvidia-smi lists `gpus` GPUs, as the real one's `-L` does."""
    script = folder / "nvidia-smi"
    lines = "".join(f'echo "GPU {i}: NVIDIA H200 (UUID: GPU-{i})"\n' for i in range(gpus))
    script.write_text(f"#!/bin/sh\n{lines}")
    script.chmod(0o755)
    return f"{folder}{os.pathsep}{os.environ['PATH']}"
