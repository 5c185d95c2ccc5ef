"""Batched functional augmentation ops on float images (N, C, H, W) in [0, 1].

Every op takes PER-IMAGE parameter tensors of shape (N,) (or (N, ...)) so a whole
batch with different parameters is processed without a Python loop over images.
Photometric ops mirror imgaug 0.4's formulas (on the 0-255 scale, 127 = imgaug's
uint8 centre). Geometric ops are coordinate maps in *pixel coordinates* (pixel i has
its centre at i, as in cv2/skimage): 3x3 matrices (crops, flip, perspective) and a
coarse displacement field (piecewise affine); :func:`geometric_grid` composes them
into one sampling grid for a single ``grid_sample`` (:func:`warp`).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

CENTER = 127.0 / 255.0  # imgaug's LinearContrast centre for uint8: int(127.5) = 127


def _col(v: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """(N,) parameter -> (N, 1, 1, 1) broadcastable against x, same dtype/device."""
    return v.to(device=x.device, dtype=x.dtype).reshape(-1, 1, 1, 1)


# --------------------------------------------------------------------------- photometric


def linear_contrast(x: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """imgaug LinearContrast: ``127 + alpha * (v - 127)`` on the 0-255 scale, clipped."""
    a = _col(alpha, x)
    return torch.addcmul(CENTER * (1.0 - a), a, x).clamp_(0.0, 1.0)


def color_jitter(x: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor) -> torch.Tensor:
    """SimCLR/torchvision brightness then contrast jitter for grayscale images.

    Brightness multiplies by ``b``; contrast blends with the image's mean gray by ``c``.
    """
    x = (x * _col(brightness, x)).clamp_(0.0, 1.0)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (mean + _col(contrast, x) * (x - mean)).clamp_(0.0, 1.0)


def gaussian_kernel_size(sigma_max: float) -> int:
    """imgaug's kernel size rule (3.3 sigma, at least 5, made odd) for the largest sigma."""
    if sigma_max < 3.0:
        k = 3.3 * sigma_max
    elif sigma_max < 5.0:
        k = 2.9 * sigma_max
    else:
        k = 2.6 * sigma_max
    k = int(max(k, 5))
    return k + 1 if k % 2 == 0 else k


def gaussian_kernels(sigma: torch.Tensor, ksize: int, dtype=torch.float32) -> torch.Tensor:
    """Normalised 1-D Gaussian kernels (N, ksize), one per sigma (sigma ~0 -> identity)."""
    r = ksize // 2
    t = torch.arange(-r, r + 1, device=sigma.device, dtype=dtype)
    s = sigma.to(dtype).clamp_min(1e-3).unsqueeze(1)
    k = torch.exp(-0.5 * (t / s) ** 2)
    return k / k.sum(dim=1, keepdim=True)


def _sep_filter(x: torch.Tensor, kx: torch.Tensor | None, ky: torch.Tensor | None, k: int = 3) -> torch.Tensor:
    """Per-image separable correlation with reflect-101 borders (cv2's default).

    kx, ky: (N, k) per-image taps, or None for a box sum of ``k`` ones. Implemented as
    k shifted multiply-adds per axis on a padded copy (one fused pass per tap), which
    on CPU beats a grouped conv with N groups and works on any device.
    """
    if kx is not None:
        k = kx.shape[1]
    r = k // 2
    W = x.shape[-1]
    H = x.shape[-2]

    def taps(kern: torch.Tensor | None) -> list[torch.Tensor | None]:
        if kern is None:
            return [None] * k
        kern = kern.to(x.dtype).reshape(-1, 1, 1, 1, k)
        return [kern[..., j] for j in range(k)]

    tx, ty = taps(kx), taps(ky)
    xp = F.pad(x, (r, r, 0, 0), mode="reflect")
    out = xp[..., 0:W] * tx[0] if tx[0] is not None else xp[..., 0:W].clone()
    for j in range(1, k):
        if tx[j] is None:
            out.add_(xp[..., j : j + W])
        else:
            out.addcmul_(xp[..., j : j + W], tx[j])
    yp = F.pad(out, (0, 0, r, r), mode="reflect")
    res = yp[..., 0:H, :] * ty[0] if ty[0] is not None else yp[..., 0:H, :].clone()
    for j in range(1, k):
        if ty[j] is None:
            res.add_(yp[..., j : j + H, :])
        else:
            res.addcmul_(yp[..., j : j + H, :], ty[j])
    return res


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, ksize: int | None = None) -> torch.Tensor:
    """imgaug GaussianBlur (cv2 backend): per-image sigma, truncated normalised kernel
    of ``ksize`` taps (default: imgaug's rule for the largest sigma), reflect-101 border."""
    if ksize is None:
        ksize = gaussian_kernel_size(float(sigma.max()) if sigma.numel() else 0.0)
    k = gaussian_kernels(sigma.to(x.device), ksize, dtype=x.dtype)
    return _sep_filter(x, k, k)


def sharpen_kernel(alpha: float, lightness: float) -> torch.Tensor:
    """imgaug Sharpen's 3x3 matrix: ``(1-alpha) * identity + alpha * E`` with
    ``E = [[-1,-1,-1],[-1,8+lightness,-1],[-1,-1,-1]]`` (its sum is ``lightness``)."""
    e = -torch.ones(3, 3)
    e[1, 1] = 8.0 + lightness
    ident = torch.zeros(3, 3)
    ident[1, 1] = 1.0
    return (1.0 - alpha) * ident + alpha * e


def sharpen(x: torch.Tensor, alpha: torch.Tensor, lightness: torch.Tensor) -> torch.Tensor:
    """imgaug Sharpen, batched: convolving with :func:`sharpen_kernel` equals
    ``x + alpha * ((8 + lightness) * x - box3x3_sum(x))``; the box sum is separable."""
    box = _sep_filter(x, None, None, k=3)
    a = _col(alpha, x)
    lit = _col(lightness, x)
    # x + a * ((8 + L) x - box)  =  (1 + a (8 + L)) x - a box
    return torch.addcmul(-a * box, 1.0 + a * (8.0 + lit), x).clamp_(0.0, 1.0)


# --------------------------------------------------------------------------- geometric maps
# Every map sends an OUTPUT pixel coordinate (x, y, 1) to the SOURCE coordinate it reads.


def _eye(n: int, device=None, dtype=torch.float32) -> torch.Tensor:
    return torch.eye(3, device=device, dtype=dtype).expand(n, 3, 3).clone()


def crop_matrix(
    top: torch.Tensor, bottom: torch.Tensor, left: torch.Tensor, right: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """imgaug ``Crop(keep_size=True)``: crop fractions per side, then resize back
    (cv2's half-pixel convention ``src = (dst + 0.5) * scale - 0.5 + offset``). (N, 3, 3).

    Fractions are used as is (imgaug rounds them to whole pixels first)."""
    n = top.shape[0]
    m = _eye(n, top.device)
    sx = 1.0 - left - right
    sy = 1.0 - top - bottom
    m[:, 0, 0] = sx
    m[:, 0, 2] = 0.5 * sx - 0.5 + left * width
    m[:, 1, 1] = sy
    m[:, 1, 2] = 0.5 * sy - 0.5 + top * height
    return m


def resized_crop_matrix(
    x0: torch.Tensor, y0: torch.Tensor, w: torch.Tensor, h: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Crop the box (x0, y0, w, h) (fractions of the image) and resize it to the full size."""
    return crop_matrix(y0, 1.0 - y0 - h, x0, 1.0 - x0 - w, height, width)


def flip_matrix(flip: torch.Tensor, width: int) -> torch.Tensor:
    """Horizontal flip (``x -> W - 1 - x``) where ``flip`` is true, identity elsewhere."""
    n = flip.shape[0]
    m = _eye(n, flip.device)
    f = flip.to(torch.float32)
    m[:, 0, 0] = 1.0 - 2.0 * f
    m[:, 0, 2] = f * (width - 1)
    return m


def square_to_quad(quad: torch.Tensor) -> torch.Tensor:
    """Homographies (N, 3, 3) taking the unit square corners (0,0),(1,0),(1,1),(0,1) to
    ``quad`` (N, 4, 2) = [tl, tr, br, bl] as (x, y) (Heckbert's closed form)."""
    x0, x1, x2, x3 = quad[:, 0, 0], quad[:, 1, 0], quad[:, 2, 0], quad[:, 3, 0]
    y0, y1, y2, y3 = quad[:, 0, 1], quad[:, 1, 1], quad[:, 2, 1], quad[:, 3, 1]
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    den = dx1 * dy2 - dx2 * dy1
    g = (dx3 * dy2 - dx2 * dy3) / den
    h = (dx1 * dy3 - dx3 * dy1) / den
    m = torch.stack(
        [
            torch.stack([x1 - x0 + g * x1, x3 - x0 + h * x3, x0], -1),
            torch.stack([y1 - y0 + g * y1, y3 - y0 + h * y3, y0], -1),
            torch.stack([g, h, torch.ones_like(g)], -1),
        ],
        dim=1,
    )
    return m


def perspective_matrix(corners: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """imgaug ``PerspectiveTransform(keep_size=True)``: the quadrilateral ``corners``
    (N, 4, 2) = [tl, tr, br, bl] as (x, y) fractions of (W, H) is warped to a
    ``max_w x max_h`` rectangle (cv2.getPerspectiveTransform) and resized back to the
    image size. Returns the output->source map (N, 3, 3)."""
    scale = torch.tensor([width, height], device=corners.device, dtype=torch.float32)
    q = corners.to(torch.float32) * scale
    tl, tr, br, bl = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    max_w = torch.maximum((tr - tl).norm(dim=1), (br - bl).norm(dim=1)).floor().clamp_min(2.0)
    max_h = torch.maximum((tr - br).norm(dim=1), (tl - bl).norm(dim=1)).floor().clamp_min(2.0)
    # output pixel -> pixel of the max_w x max_h warp result (resize, half-pixel centres),
    # then -> unit square (the rectangle corners are at 0 and max_w, as in imgaug).
    n = corners.shape[0]
    to_unit = _eye(n, corners.device)
    to_unit[:, 0, 0] = 1.0 / width
    to_unit[:, 0, 2] = 0.5 / width - 0.5 / max_w
    to_unit[:, 1, 1] = 1.0 / height
    to_unit[:, 1, 2] = 0.5 / height - 0.5 / max_h
    return square_to_quad(q) @ to_unit


def piecewise_weights(pos: torch.Tensor, nb: torch.Tensor, size: int, max_nb: int) -> torch.Tensor:
    """Hat (linear interpolation) weights (N, P, max_nb) of positions ``pos`` (N, P) on
    ``nb`` (N,) control points at ``linspace(0, size, nb)``; unused points get 0."""
    nbf = nb.to(pos.dtype).unsqueeze(1).unsqueeze(2)  # (N,1,1)
    step = size / (nbf - 1.0)
    j = torch.arange(max_nb, device=pos.device, dtype=pos.dtype).view(1, 1, -1)
    ctrl = j * step
    w = (1.0 - (pos.unsqueeze(2) - ctrl).abs() / step).clamp_min(0.0)
    w = w * (j < nbf).to(pos.dtype)
    # positions outside [0, size] take the nearest end point
    first = (pos.unsqueeze(2) < 0) & (j == 0)
    last = (pos.unsqueeze(2) > size) & (j == nbf - 1)
    return torch.where(first | last, torch.ones_like(w), w)


def piecewise_displacement(
    offsets: torch.Tensor, nb_rows: torch.Tensor, nb_cols: torch.Tensor, height: int, width: int
) -> torch.Tensor:
    """Control-point displacements (N, R, C, 2) as (dy, dx) pixels, imgaug style:
    control points on ``linspace(0, H, nb_rows) x linspace(0, W, nb_cols)`` move by
    ``offsets * (H, W)`` and are clipped into ``[0, H-1] x [0, W-1]``."""
    n, r, c, _ = offsets.shape
    dev = offsets.device
    ys = torch.arange(r, device=dev, dtype=torch.float32).view(1, r, 1) * (
        height / (nb_rows.to(torch.float32).view(n, 1, 1) - 1.0)
    )
    xs = torch.arange(c, device=dev, dtype=torch.float32).view(1, 1, c) * (
        width / (nb_cols.to(torch.float32).view(n, 1, 1) - 1.0)
    )
    ys = ys.expand(n, r, c)
    xs = xs.expand(n, r, c)
    dy = (ys + offsets[..., 0] * height).clamp(0.0, height - 1.0) - ys
    dx = (xs + offsets[..., 1] * width).clamp(0.0, width - 1.0) - xs
    return torch.stack([dy, dx], dim=-1)


def _is_axis_aligned(m: torch.Tensor) -> bool:
    """True if every map is x' = a x + b, y' = c y + d (crops, flips, identity)."""
    return not bool((m[:, 0, 1] != 0).any() or (m[:, 1, 0] != 0).any() or (m[:, 2, :2] != 0).any())


def _apply_grid(m: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply homographies m (N, 3, 3) to coordinates x, y that broadcast to (N, H, W).

    Axis-aligned maps keep x-only / y-only inputs small (no full-size tensor at all);
    terms are grouped so that small (N, 1, W) / (N, H, 1) pieces are summed first."""
    def c(i: int, j: int) -> torch.Tensor:
        return m[:, i, j].view(-1, 1, 1)

    if _is_axis_aligned(m):
        return torch.addcmul(c(0, 2), c(0, 0), x), torch.addcmul(c(1, 2), c(1, 1), y)
    u = torch.addcmul(c(0, 2), c(0, 0), x) + c(0, 1) * y
    v = torch.addcmul(c(1, 2), c(1, 0), x) + c(1, 1) * y
    if bool((m[:, 2, :2] != 0).any()):  # projective: divide (affine maps skip it)
        w = torch.addcmul(c(2, 2), c(2, 0), x) + c(2, 1) * y
        u = u.div_(w) if u.shape == w.shape else u / w
        v = v.div_(w) if v.shape == w.shape else v / w
    return u, v


def to_normalized(height: int, width: int, n: int = 1, device=None) -> torch.Tensor:
    """Pixel coordinates (centre of pixel i at i) -> grid_sample's [-1, 1] (align_corners=False)."""
    m = torch.zeros(3, 3, device=device)
    m[0, 0], m[0, 2] = 2.0 / width, 1.0 / width - 1.0
    m[1, 1], m[1, 2] = 2.0 / height, 1.0 / height - 1.0
    m[2, 2] = 1.0
    return m.expand(n, 3, 3)


def geometric_grid(
    height: int,
    width: int,
    before: torch.Tensor,
    after: torch.Tensor | None = None,
    piecewise: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
) -> torch.Tensor:
    """One sampling grid (N, H, W, 2) in grid_sample's normalised coordinates.

    The source coordinate of output pixel u is ``before(after(u) + d(after(u)))``
    where ``d`` is the piecewise-affine displacement (control displacements
    (N, R, C, 2) as (dy, dx), nb_rows, nb_cols) interpolated bilinearly on the control
    grid; ``after`` holds the maps of ops applied after the piecewise affine,
    ``before`` those applied before it (or all of them). ``d`` is evaluated separably
    at the axis-aligned part of ``after`` (exact for crops/flip; the perspective terms,
    ~1% of the size, are neglected there).
    """
    n = before.shape[0]
    dev = before.device
    xs = torch.arange(width, device=dev, dtype=torch.float32).view(1, 1, width)
    ys = torch.arange(height, device=dev, dtype=torch.float32).view(1, height, 1)
    final = to_normalized(height, width, n, dev) @ before
    if piecewise is None:
        gx, gy = _apply_grid(final, xs, ys)
    else:
        disp, nb_rows, nb_cols = piecewise
        if after is None:
            after = torch.eye(3, device=dev).expand(n, 3, 3)
        px, py = _apply_grid(after, xs, ys)
        x_at = after[:, 0, 0:1] * xs.view(1, -1) + after[:, 0, 2:3]  # (N, W)
        y_at = after[:, 1, 1:2] * ys.view(1, -1) + after[:, 1, 2:3]  # (N, H)
        r, c = disp.shape[1], disp.shape[2]
        wy = piecewise_weights(y_at, nb_rows, height, r)  # (N, H, R)
        wxt = piecewise_weights(x_at, nb_cols, width, c).transpose(1, 2)  # (N, C, W)
        py = torch.bmm(torch.bmm(wy, disp[..., 0]), wxt).add_(py)
        px = torch.bmm(torch.bmm(wy, disp[..., 1]), wxt).add_(px)
        gx, gy = _apply_grid(final, px, py)
    shape = (n, height, width)
    return torch.stack([gx.expand(shape), gy.expand(shape)], dim=-1)


def warp(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear ``grid_sample`` with edge replication (imgaug ``mode='edge'``)."""
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)


def warp_matrix(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Warp x by a single output->source map per image (N, 3, 3)."""
    return warp(x, geometric_grid(x.shape[-2], x.shape[-1], m.to(x.device)))
