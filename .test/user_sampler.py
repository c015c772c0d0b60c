"""A user's own sampler (docs: "Samplers"): it lives outside ddim-eval, in the workflow's working directory, and
reaches the grid through one config line, `{function: "user_sampler:ddim_by_hand", label: by_hand}`."""

import torch


@torch.no_grad()
def ddim_by_hand(eps_model, x_T, grid, *, generator=None, scale=1.0):
    """DDIM (eta = 0) over the grid's nodes, from the grid's alpha and sigma alone: the network once per step."""
    x = x_T
    for i in range(grid.steps):
        t = torch.full((x.shape[0],), float(grid.t[i]), dtype=torch.float64, device=x.device)
        eps = scale * eps_model(x, t)
        x0 = (x - float(grid.sigma[i]) * eps) / float(grid.alpha[i])
        x = float(grid.alpha[i + 1]) * x0 + float(grid.sigma[i + 1]) * eps
    return x


def wrong_signature(eps_model, x_T):
    return x_T
