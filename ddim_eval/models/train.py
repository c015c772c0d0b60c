"""Training a DDPM epsilon-model from scratch (the demo world's model; any small prepared dataset works).

The DDPM objective (Ho et al. 2020, Algorithm 1): t ~ U{0..T-1}, x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps,
minimise |eps - eps_theta(x_t, t)|^2; the network kept is the exponential moving average of the weights.
Runs are deterministic for a seed on a given device and thread count.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import torch
from diffusers import UNet2DModel
from tqdm.auto import tqdm

from ddim_eval.data.images import from_uint8
from ddim_eval.io import atomic_path


def train_ddpm(unet: UNet2DModel, images: np.ndarray, alphas_cumprod: np.ndarray, *, steps: int,
               batch_size: int = 128, lr: float = 2e-3, warmup: int = 200, ema_decay: float = 0.999,
               seed: int = 0, device: torch.device | str = "cpu", progress: bool = True) -> UNet2DModel:
    """Train `unet` in place on uint8 `images` [N, C, H, W]; returns the EMA copy (eval mode, no grad)."""
    if steps < 1 or batch_size < 1:
        raise ValueError(f"steps and batch_size must be positive; got steps={steps}, batch_size={batch_size}")
    torch.manual_seed(seed)
    data = from_uint8(np.asarray(images)).to(device)
    sqrt_a = torch.tensor(np.sqrt(alphas_cumprod), dtype=torch.float32, device=device)
    sqrt_1ma = torch.tensor(np.sqrt(1 - alphas_cumprod), dtype=torch.float32, device=device)
    unet.to(device).train()
    ema = copy.deepcopy(unet).eval().requires_grad_(False)
    opt = torch.optim.Adam(unet.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: min(1.0, (i + 1) / warmup))
    gen = torch.Generator(device="cpu").manual_seed(seed)
    bar = tqdm(range(steps), desc="train", disable=not progress, mininterval=2)
    for _ in bar:
        idx = torch.randint(len(data), (batch_size,), generator=gen)
        t = torch.randint(len(alphas_cumprod), (batch_size,), generator=gen)
        eps = torch.randn((batch_size, *data.shape[1:]), generator=gen).to(device)
        idx, t = idx.to(device), t.to(device)
        x0 = data[idx]
        x_t = sqrt_a[t].view(-1, 1, 1, 1) * x0 + sqrt_1ma[t].view(-1, 1, 1, 1) * eps
        loss = (unet(x_t, t).sample - eps).square().mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            for p_ema, p in zip(ema.parameters(), unet.parameters()):
                p_ema.lerp_(p, 1 - ema_decay)
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    return ema


def save_weights(path: str | os.PathLike, model: torch.nn.Module) -> Path:
    """Write `model`'s state dict as safetensors, atomically."""
    from safetensors.torch import save_file

    with atomic_path(path) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, tmp)
    return Path(path)
