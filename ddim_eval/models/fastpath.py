"""The fast path: how a diffusers U-Net runs inside a sampling loop (memory format, precision, torch.compile, CUDA
graphs), chosen as data and applied to the network only: the samplers' math does not change.

What is chosen, and why:
- Reduced precision (bf16, fp16) is autocast around the network, not a cast model. The convolutions and matmuls
  run in 16 bits; autocast keeps the GroupNorms and the attention softmax in float32, and the network's output
  eps comes back as float32. The sampler state x_t and its update stay float32 and the coefficients stay float64
  on the host, because x_t is updated up to 1000 times and bf16's 8-bit mantissa would round away about 4e-3 of
  it at every step.
- fp32 is strict fp32: TF32 off for matmuls *and* cuDNN convolutions (PyTorch's default lets convolutions use
  TF32 on Ampere and later). tf32 turns both on. Both settings are process-wide flags, set when a model is built.
- CUDA graphs come from torch.compile's "reduce-overhead" mode (cudagraph trees), so they need `compile`. Their
  outputs live in a pool that the next replay overwrites, so each output is cloned.
- A compiled network sees one batch shape. A smaller batch is padded up to it and the padding dropped, so the
  last partial batch neither recompiles nor is dropped; in eval mode the rows of a batch do not interact
  (GroupNorm and attention work per image). The timestep enters as a tensor, so steps never recompile.
Every option runs on the CPU too. Where one cannot apply (TF32 or CUDA graphs off CUDA, compile without a
working torch.compile), `resolve` turns it off and says so.

torch is imported where it is used, so that the options (`FastPath`, `PRECISIONS`) are read without it by the
command line's parser and the workflow's DAG build.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import Tensor

    from ddim_eval.sampling.common import EpsModel

PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
FLAGS = ("channels_last", "compile", "cuda_graphs")  # the on/off options, in label order


@dataclass(frozen=True)
class FastPath:
    """How the network runs; the default is plain fp32 eager."""

    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    cuda_graphs: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision {self.precision!r} is not one of {list(PRECISIONS)}")
        if self.cuda_graphs and not self.compile:
            raise ValueError("cuda_graphs needs compile: the graphs are captured by torch.compile's "
                             "reduce-overhead mode; set compile too")

    @property
    def label(self) -> str:
        """A short name, e.g. "fp32", "bf16+channels_last+compile+cuda_graphs"."""
        return "+".join([self.precision, *(name for name in FLAGS if getattr(self, name))])

    @classmethod
    def from_label(cls, label: str) -> FastPath:
        """The options a `label` names: "bf16+channels_last+compile" -> FastPath("bf16", True, True)."""
        precision, *flags = label.split("+")
        unknown = sorted(set(flags) - set(FLAGS))
        if unknown:
            raise ValueError(f"{label!r}: unknown fast-path option(s) {unknown}; after the precision: {list(FLAGS)}")
        return cls(precision, **dict.fromkeys(flags, True))


def resolve(fast: FastPath, device: torch.device | str) -> tuple[FastPath, list[str]]:
    """The options that can apply on `device`, and a note for each one turned off (why, and what runs instead)."""
    import torch

    device = torch.device(device)
    notes = []
    if device.type != "cuda":
        if fast.precision == "tf32":
            notes.append(f"tf32 exists only for CUDA matmuls and convolutions; on {device.type} this runs fp32")
            fast = replace(fast, precision="fp32")
        if fast.cuda_graphs:
            notes.append(f"CUDA graphs need a CUDA device; on {device.type} compile runs without them")
            fast = replace(fast, cuda_graphs=False)
    elif fast.precision == "bf16" and not torch.cuda.is_bf16_supported():
        notes.append(f"{torch.cuda.get_device_name(device)} has no bf16; this runs fp32")
        fast = replace(fast, precision="fp32")
    if fast.compile and not torch._dynamo.is_dynamo_supported():
        notes.append("torch.compile is not supported by this Python or torch build; the network runs eagerly")
        fast = replace(fast, compile=False, cuda_graphs=False)
    return fast, notes


def set_float32_precision(precision: str) -> None:
    """Process-wide: TF32 on for "tf32", off otherwise (so fp32 is strict, convolutions included)."""
    import torch

    tf32 = precision == "tf32"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32


def fast_eps_model(unet: torch.nn.Module, fast: FastPath, *, batch_size: int | None = None,
                   device: torch.device | str | None = None) -> tuple[EpsModel, FastPath, list[str]]:
    """The eps callable of a diffusers U-Net run the `fast` way, the options that apply on its device, and the
    notes on those that do not. With compile, `batch_size` is the one batch shape the network sees (default: the
    first call's)."""
    import torch

    device = torch.device(device) if device is not None else next(unet.parameters()).device
    fast, notes = resolve(fast, device)
    set_float32_precision(fast.precision)
    unet.eval().requires_grad_(False)
    if fast.channels_last:
        unet.to(memory_format=torch.channels_last)
    autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(fast.precision)

    def forward(x: Tensor, t: Tensor) -> Tensor:
        if fast.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=autocast or torch.float32, enabled=autocast is not None):
            eps = unet(x, t, return_dict=False)[0]
        return eps.to(x.dtype).contiguous()

    if not fast.compile:
        return forward, fast, notes
    # diffusers' upsampling asks `is_torch_version` (an lru_cache) which torch it runs on; tracing through the
    # cache is harmless, and the warning would repeat in every job's log.
    warnings.filterwarnings("ignore", message="Dynamo detected a call to a `functools.lru_cache`-wrapped function "
                                              "at 'upsampling.py")
    compiled = torch.compile(forward, mode="reduce-overhead" if fast.cuda_graphs else None, dynamic=False)
    if fast.cuda_graphs:
        def replayed(x: Tensor, t: Tensor) -> Tensor:
            torch.compiler.cudagraph_mark_step_begin()
            return compiled(x, t).clone()

        return eager_fallback(fixed_batch(replayed, batch_size), forward), fast, notes
    return eager_fallback(fixed_batch(compiled, batch_size), forward), fast, notes


def fixed_batch(eps_model: EpsModel, batch_size: int | None = None) -> EpsModel:
    """`eps_model` fed only batches of `batch_size` rows (default: the first call's): a smaller batch is padded
    with zero images and the padding's output dropped, a larger one is run in pieces."""
    import torch

    size: list[int] = [batch_size] if batch_size else []

    def eps(x: Tensor, t: Tensor) -> Tensor:
        if not size:
            size.append(x.shape[0])
        b, n = size[0], x.shape[0]
        if n > b:
            return torch.cat([eps(x[i:i + b], t[i:i + b]) for i in range(0, n, b)])
        if n < b:
            return eps_model(torch.cat([x, x.new_zeros((b - n, *x.shape[1:]))]),
                             torch.cat([t, t[:1].expand(b - n)]))[:n]
        return eps_model(x, t)

    return eps


def eager_fallback(eps_model: EpsModel, eager: EpsModel) -> EpsModel:
    """`eps_model`, but if its first call fails (no working compiler on this machine), `eager` from then on, with a
    warning that says why. Later failures are real errors and propagate."""
    state: dict = {"first": True, "model": eps_model}

    def eps(x: Tensor, t: Tensor) -> Tensor:
        if not state["first"]:
            return state["model"](x, t)
        state["first"] = False
        try:
            return eps_model(x, t)
        except Exception as e:  # noqa: BLE001 - any compiler failure: the eager path computes the same function
            warnings.warn(f"torch.compile failed on this machine ({type(e).__name__}: "
                          f"{str(e).strip().splitlines()[0][:200]}); the network runs eagerly", stacklevel=2)
            state["model"] = eager
            return eager(x, t)

    return eps
