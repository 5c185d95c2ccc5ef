"""Stage 1 (optional): thin-plate-spline (TPS) rectification, appendix A.1 of the paper.

Modelled on deep-text-recognition-benchmark's TPS_SpatialTransformerNetwork (RARE-style): a
localization CNN predicts F fiducial points C' on the input; a TPS fitted between the fixed points C
on the border of the output rectangle and C' gives, for every output pixel, where to sample the
input. The output has the input's size (H, W), so frame counts are unchanged.

Difference from the benchmark: the last localization layer starts at the *identity* transform
(C' = C, top edge y=-1, bottom edge y=+1); the benchmark's initial bias uses a sloped
top/bottom line, which is not the identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def fiducial_points(num_fiducial: int) -> torch.Tensor:
    """(F, 2) base fiducial points C in normalized [-1, 1] coordinates: F/2 on the top edge and
    F/2 on the bottom edge, evenly spaced in x."""
    if num_fiducial < 4 or num_fiducial % 2:
        raise ValueError(f"transformation.py: num_fiducial must be an even number >= 4, got {num_fiducial}")
    half = num_fiducial // 2
    x = torch.linspace(-1.0, 1.0, half, dtype=torch.float64)
    top = torch.stack([x, -torch.ones(half, dtype=torch.float64)], dim=1)
    bottom = torch.stack([x, torch.ones(half, dtype=torch.float64)], dim=1)
    return torch.cat([top, bottom], dim=0)


def _tps_kernel(sq_dist: torch.Tensor) -> torch.Tensor:
    """U(r) = r^2 log r^2 (the TPS radial basis), with U(0) = 0."""
    return sq_dist * torch.log(sq_dist.clamp_min(1e-12))


class LocalizationNetwork(nn.Module):
    """CNN regressing the F fiducial points C' (N, F, 2) on the input image."""

    def __init__(self, num_fiducial: int, in_channels: int = 1, width: float = 1.0) -> None:
        super().__init__()
        ch = [max(8, int(c * width)) for c in (64, 128, 256, 512)]
        layers: list[nn.Module] = []
        prev = in_channels
        for i, c in enumerate(ch):
            layers += [nn.Conv2d(prev, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            layers.append(nn.MaxPool2d(2, 2) if i < 3 else nn.AdaptiveAvgPool2d(1))
            prev = c
        self.conv = nn.Sequential(*layers)
        self.fc1 = nn.Sequential(nn.Linear(prev, 256), nn.ReLU(inplace=True))
        self.fc2 = nn.Linear(256, num_fiducial * 2)
        nn.init.zeros_(self.fc2.weight)
        with torch.no_grad():
            self.fc2.bias.copy_(fiducial_points(num_fiducial).float().reshape(-1))
        self.num_fiducial = num_fiducial

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.conv(x).flatten(1)
        return self.fc2(self.fc1(feat)).view(x.size(0), self.num_fiducial, 2)


class GridGenerator(nn.Module):
    """Maps predicted points C' (N, F, 2) to a sampling grid (N, H, W, 2).

    The TPS solve is linear in C': grid = P_hat @ inv(Delta_C)[:, :F] @ C', with the per-pixel
    basis P_hat = [1, x, y, U(|p - c_k|)]. The (H*W, F) product is computed once per output size
    in float64 (so the identity initialisation is exact) and cached.
    """

    def __init__(self, num_fiducial: int) -> None:
        super().__init__()
        c = fiducial_points(num_fiducial)
        n = num_fiducial
        delta = torch.zeros(n + 3, n + 3, dtype=torch.float64)
        delta[:n, 0] = 1.0
        delta[:n, 1:3] = c
        delta[:n, 3:] = _tps_kernel(torch.cdist(c, c).pow(2))
        delta[n, 3:] = 1.0
        delta[n + 1 :, 3:] = c.t()
        self._c = c
        self._inv_delta = torch.linalg.inv(delta)[:, :n]  # only the C' rows of [C'; 0] matter
        self._cache: dict[tuple[int, int, torch.device, torch.dtype], torch.Tensor] = {}

    def basis(self, height: int, width: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
        """(H*W, F) matrix A with grid = A @ C' (pixel centres, align_corners=False convention)."""
        key = (height, width, device, dtype)
        if key not in self._cache:
            xs = (torch.arange(width, dtype=torch.float64) * 2 + 1) / width - 1
            ys = (torch.arange(height, dtype=torch.float64) * 2 + 1) / height - 1
            gy, gx = torch.meshgrid(ys, xs, indexing="ij")
            p = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (H*W, 2) as (x, y)
            u = _tps_kernel(torch.cdist(p, self._c).pow(2))
            p_hat = torch.cat([torch.ones(p.size(0), 1, dtype=torch.float64), p, u], dim=1)
            self._cache[key] = (p_hat @ self._inv_delta).to(device=device, dtype=dtype)
        return self._cache[key]

    def forward(self, c_prime: torch.Tensor, height: int, width: int) -> torch.Tensor:
        a = self.basis(height, width, c_prime.device, c_prime.dtype)
        return (a @ c_prime).view(c_prime.size(0), height, width, 2)


class TPSSpatialTransformer(nn.Module):
    """TPS rectification X -> X' of the same size; see module docstring."""

    def __init__(self, num_fiducial: int = 20, in_channels: int = 1, width: float = 1.0) -> None:
        super().__init__()
        self.localization = LocalizationNetwork(num_fiducial, in_channels, width)
        self.grid = GridGenerator(num_fiducial)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c_prime = self.localization(x)
        grid = self.grid(c_prime, x.size(2), x.size(3))
        return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def build_transformation(kind: str, num_fiducial: int = 20, in_channels: int = 1, width: float = 1.0) -> nn.Module:
    """'none' -> identity, 'tps' -> TPSSpatialTransformer."""
    if kind == "none":
        return nn.Identity()
    if kind == "tps":
        return TPSSpatialTransformer(num_fiducial, in_channels, width)
    raise ValueError(f"transformation.py: unknown transformation {kind!r} (expected 'none' or 'tps')")
