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

import numpy as np
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


def depthwise_conv(x: torch.Tensor, kernels: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Correlate each image with its own 2-D kernel (plus its own bias), reflect-101
    borders (cv2's default).

    x: (N, C, H, W); kernels: (N, kh, kw), odd sizes, shared by the channels of an
    image; bias: (N,) or None. One grouped ``conv2d`` with N*C groups (oneDNN's depthwise
    kernel on the CPU: a 5x5 in one pass, 2-3x faster per image than shifted
    multiply-adds, but ~0.3 ms per call, so callers merge groups into few calls).
    """
    n, ch, h, w = x.shape
    kh, kw = kernels.shape[-2:]
    weight = kernels.to(x.dtype)
    if bias is not None:
        bias = bias.to(x.dtype)
    if ch > 1:
        weight = weight.repeat_interleave(ch, dim=0)
        bias = bias.repeat_interleave(ch, dim=0) if bias is not None else None
    xp = F.pad(x.reshape(1, n * ch, h, w), (kw // 2, kw // 2, kh // 2, kh // 2), mode="reflect")
    return F.conv2d(xp, weight.view(n * ch, 1, kh, kw), bias, groups=n * ch).view(n, ch, h, w)


def contrast_as_conv(alpha: torch.Tensor, ksize: int) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`linear_contrast` as a (kernel, bias) pair for :func:`depthwise_conv`:
    ``alpha`` at the centre of a ``ksize`` x ``ksize`` kernel, bias ``CENTER (1 - alpha)``."""
    k = torch.zeros(alpha.shape[0], ksize, ksize, dtype=torch.float32, device=alpha.device)
    k[:, ksize // 2, ksize // 2] = alpha
    return k, CENTER * (1.0 - alpha.to(torch.float32))


def centered(kernels: torch.Tensor, ksize: int) -> torch.Tensor:
    """Zero-pad (N, k, k) kernels to (N, ksize, ksize), centred (ksize >= k, both odd)."""
    p = (ksize - kernels.shape[-1]) // 2
    return F.pad(kernels, (p, p, p, p)) if p else kernels


def blur_kernels(sigma: torch.Tensor, ksize: int, dtype=torch.float32) -> torch.Tensor:
    """The 2-D Gaussian kernels (N, ksize, ksize): outer products of :func:`gaussian_kernels`."""
    k = gaussian_kernels(sigma, ksize, dtype)
    return k.unsqueeze(2) * k.unsqueeze(1)


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, ksize: int | None = None) -> torch.Tensor:
    """imgaug GaussianBlur (cv2 backend): per-image sigma, truncated normalised kernel
    of ``ksize`` taps (default: imgaug's rule for the largest sigma), reflect-101 border."""
    if ksize is None:
        ksize = gaussian_kernel_size(float(sigma.max()) if sigma.numel() else 0.0)
    # clipped: rounding can leave a normalised kernel's output a hair above 1
    return depthwise_conv(x, blur_kernels(sigma.to(x.device), ksize, x.dtype)).clamp_(0.0, 1.0)


def sharpen_kernel(alpha: float, lightness: float) -> torch.Tensor:
    """imgaug Sharpen's 3x3 matrix: ``(1-alpha) * identity + alpha * E`` with
    ``E = [[-1,-1,-1],[-1,8+lightness,-1],[-1,-1,-1]]`` (its sum is ``lightness``)."""
    return sharpen_kernels(torch.tensor([float(alpha)]), torch.tensor([float(lightness)]))[0]


def sharpen_kernels(alpha: torch.Tensor, lightness: torch.Tensor) -> torch.Tensor:
    """:func:`sharpen_kernel` for per-image ``alpha``, ``lightness`` (N,): (N, 3, 3)."""
    a = alpha.to(torch.float32).view(-1, 1, 1)
    k = (-a).expand(-1, 3, 3).clone()
    k[:, 1, 1] = 1.0 - a[:, 0, 0] + a[:, 0, 0] * (8.0 + lightness.to(torch.float32).to(a.device))
    return k


def sharpen(x: torch.Tensor, alpha: torch.Tensor, lightness: torch.Tensor) -> torch.Tensor:
    """imgaug Sharpen, batched: each image convolved with its :func:`sharpen_kernel`, clipped."""
    return depthwise_conv(x, sharpen_kernels(alpha.to(x.device), lightness.to(x.device))).clamp_(0.0, 1.0)


# --------------------------------------------------------------------------- geometric maps
# Every map sends an OUTPUT pixel coordinate (x, y, 1) to the SOURCE coordinate it reads.
# The maps are per-image parameter math on a few numbers: numpy float64 on the CPU (a
# numpy call on a (N, 3, 3) array costs ~1 us, a torch one ~10x that); only the sampling
# grid built from them (geometric_grid) runs on the images' device.


def _f64(v) -> np.ndarray:
    """A parameter (tensor, array, list) as a float64 numpy array."""
    if torch.is_tensor(v):
        v = v.detach().cpu().numpy()
    return np.asarray(v, dtype=np.float64)


def _eye(n: int) -> np.ndarray:
    return np.tile(np.eye(3), (n, 1, 1))


def crop_matrix(top, bottom, left, right, height: int, width: int) -> np.ndarray:
    """imgaug ``Crop(keep_size=True)``: crop fractions per side, then resize back
    (cv2's half-pixel convention ``src = (dst + 0.5) * scale - 0.5 + offset``). (N, 3, 3).

    Fractions are used as is (imgaug rounds them to whole pixels first)."""
    top, bottom, left, right = _f64(top), _f64(bottom), _f64(left), _f64(right)
    m = _eye(top.shape[0])
    sx = 1.0 - left - right
    sy = 1.0 - top - bottom
    m[:, 0, 0] = sx
    m[:, 0, 2] = 0.5 * sx - 0.5 + left * width
    m[:, 1, 1] = sy
    m[:, 1, 2] = 0.5 * sy - 0.5 + top * height
    return m


def resized_crop_matrix(x0, y0, w, h, height: int, width: int) -> np.ndarray:
    """torchvision's ``resized_crop``: crop the box (x0, y0, w, h), given as fractions of the
    image and rounded to whole pixels as torchvision's RandomResizedCrop draws it (at least one
    pixel, inside the image), and resize it bilinearly to the full size (half-pixel centres).

    Inside the box the warp is torchvision's resize exactly; its outermost output pixels (source
    point less than half a pixel outside the box) blend in the image's pixel beyond the box where
    torchvision replicates the box's edge (tests/test_augment_simclr_torchvision.py)."""
    x0, y0, w, h = _f64(x0), _f64(y0), _f64(w), _f64(h)
    wp = np.clip(np.round(w * width), 1.0, width)
    hp = np.clip(np.round(h * height), 1.0, height)
    xp = np.clip(np.round(x0 * width), 0.0, width - wp)
    yp = np.clip(np.round(y0 * height), 0.0, height - hp)
    return crop_matrix(yp / height, 1.0 - (yp + hp) / height, xp / width, 1.0 - (xp + wp) / width, height, width)


def flip_matrix(flip, width: int) -> np.ndarray:
    """Horizontal flip (``x -> W - 1 - x``) where ``flip`` is true, identity elsewhere."""
    f = _f64(flip)
    m = _eye(f.shape[0])
    m[:, 0, 0] = 1.0 - 2.0 * f
    m[:, 0, 2] = f * (width - 1)
    return m


def square_to_quad(quad) -> np.ndarray:
    """Homographies (N, 3, 3) taking the unit square corners (0,0),(1,0),(1,1),(0,1) to
    ``quad`` (N, 4, 2) = [tl, tr, br, bl] as (x, y) (Heckbert's closed form)."""
    quad = _f64(quad)
    x0, x1, x2, x3 = quad[:, 0, 0], quad[:, 1, 0], quad[:, 2, 0], quad[:, 3, 0]
    y0, y1, y2, y3 = quad[:, 0, 1], quad[:, 1, 1], quad[:, 2, 1], quad[:, 3, 1]
    dx1, dx2, dx3 = x1 - x2, x3 - x2, x0 - x1 + x2 - x3
    dy1, dy2, dy3 = y1 - y2, y3 - y2, y0 - y1 + y2 - y3
    den = dx1 * dy2 - dx2 * dy1
    g = (dx3 * dy2 - dx2 * dy3) / den
    h = (dx1 * dy3 - dx3 * dy1) / den
    m = np.empty((quad.shape[0], 3, 3))
    m[:, 0] = np.stack([x1 - x0 + g * x1, x3 - x0 + h * x3, x0], -1)
    m[:, 1] = np.stack([y1 - y0 + g * y1, y3 - y0 + h * y3, y0], -1)
    m[:, 2] = np.stack([g, h, np.ones_like(g)], -1)
    return m


def perspective_matrix(corners, height: int, width: int) -> np.ndarray:
    """imgaug ``PerspectiveTransform(keep_size=True)``: the quadrilateral ``corners``
    (N, 4, 2) = [tl, tr, br, bl] as (x, y) fractions of (W, H) is warped to a
    ``max_w x max_h`` rectangle (cv2.getPerspectiveTransform) and resized back to the
    image size. Returns the output->source map (N, 3, 3)."""
    # imgaug computes in float32: the corner pixels and the floor of the sides match it
    q = (_f64(corners).astype(np.float32) * np.float32([width, height])).astype(np.float64)
    tl, tr, br, bl = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    norm = lambda v: np.sqrt((v**2).sum(axis=1))  # noqa: E731
    max_w = np.maximum(np.floor(np.maximum(norm(tr - tl), norm(br - bl))), 2.0)
    max_h = np.maximum(np.floor(np.maximum(norm(tr - br), norm(tl - bl))), 2.0)
    # output pixel -> pixel of the max_w x max_h warp result (resize, half-pixel centres),
    # then -> unit square (the rectangle corners are at 0 and max_w, as in imgaug).
    to_unit = _eye(q.shape[0])
    to_unit[:, 0, 0] = 1.0 / width
    to_unit[:, 0, 2] = 0.5 / width - 0.5 / max_w
    to_unit[:, 1, 1] = 1.0 / height
    to_unit[:, 1, 2] = 0.5 / height - 0.5 / max_h
    return square_to_quad(q) @ to_unit


def piecewise_weights(pos: torch.Tensor, nb: torch.Tensor, size: int, max_nb: int) -> torch.Tensor:
    """Hat (linear interpolation) weights (N, P, max_nb) of positions ``pos`` (N, P) on
    ``nb`` (N,) control points at ``linspace(0, size, nb)``; unused points get 0 and
    positions outside [0, size] take the nearest end point."""
    nbf = nb.to(pos.dtype).unsqueeze(1)  # (N, 1)
    t = torch.minimum((pos * ((nbf - 1.0) / size)).clamp_min_(0.0), nbf - 1.0)  # in control steps
    j = torch.arange(max_nb, device=pos.device, dtype=pos.dtype)
    # |t - j| >= 1 for every j >= nb, since t <= nb - 1: the hat is 0 there by itself
    return (1.0 - (t.unsqueeze(2) - j).abs_()).clamp_min_(0.0)


def piecewise_displacement(offsets, nb_rows, nb_cols, height: int, width: int) -> np.ndarray:
    """Control-point displacements (N, R, C, 2) as (dy, dx) pixels, imgaug style:
    control points on ``linspace(0, H, nb_rows) x linspace(0, W, nb_cols)`` move by
    ``offsets * (H, W)`` and are clipped into ``[0, H-1] x [0, W-1]``."""
    offsets = _f64(offsets)
    n, r, c, _ = offsets.shape
    ys = np.arange(r).reshape(1, r, 1) * (height / (_f64(nb_rows).reshape(n, 1, 1) - 1.0))
    xs = np.arange(c).reshape(1, 1, c) * (width / (_f64(nb_cols).reshape(n, 1, 1) - 1.0))
    ys, xs = np.broadcast_to(ys, (n, r, c)), np.broadcast_to(xs, (n, r, c))
    dy = np.clip(ys + offsets[..., 0] * height, 0.0, height - 1.0) - ys
    dx = np.clip(xs + offsets[..., 1] * width, 0.0, width - 1.0) - xs
    return np.stack([dy, dx], axis=-1)


def to_normalized(height: int, width: int) -> np.ndarray:
    """Pixel coordinates (centre of pixel i at i) -> grid_sample's [-1, 1] (align_corners=False)."""
    return np.array([[2.0 / width, 0.0, 1.0 / width - 1.0], [0.0, 2.0 / height, 1.0 / height - 1.0], [0.0, 0.0, 1.0]])


def geometric_grid(
    height: int,
    width: int,
    before,
    after=None,
    piecewise: tuple | None = None,
    device: str | torch.device | None = None,
) -> torch.Tensor:
    """One sampling grid (N, H, W, 2) in grid_sample's normalised coordinates, on
    ``device`` (default: ``before``'s if it is a tensor, else the CPU).

    The source coordinate of output pixel u is ``B(A(u) + d(A'(u)))``: ``B`` = ``before``
    (the maps of ops applied before the piecewise affine, or all of them), ``A`` =
    ``after`` (those applied after it), ``A'`` the axis-aligned part of ``A`` (exact for
    crops/flip; the perspective terms, ~1% of the size, are neglected there) and ``d``
    the piecewise-affine displacement (control displacements (N, R, C, 2) as (dy, dx),
    nb_rows, nb_cols) interpolated bilinearly on the control grid. Maps are (N, 3, 3)
    arrays or tensors.

    Computed without any per-pixel pass but one: in homogeneous coordinates
    ``h = (B A) u + w_A(u) * B[:, :2] d``, with ``w_A`` the last row of ``A u``; every
    term is a sum of products f(y) g(x) (d is bilinear, hence separable, along the
    axis-aligned ``A'``), so ``h`` for all pixels is ONE batched matrix product
    (N, H, K) @ (N, K, 3W) with K = 2 + R (2 + 2R when a perspective follows
    the piecewise affine), then ``grid = h[..., :2] / h[..., 2]``
    (returned as a transposed view, not contiguous).
    """
    if device is None:
        device = before.device if torch.is_tensor(before) else "cpu"
    dev = torch.device(device)
    f32 = torch.float32
    b64 = to_normalized(height, width) @ _f64(before)  # (N, 3, 3)
    a64 = _eye(b64.shape[0]) if after is None else _f64(after)
    projective_after = bool((a64[:, 2, 0] != 0).any())
    n = b64.shape[0]
    b, a, ba = (torch.as_tensor(m, dtype=f32).to(dev) for m in (b64, a64, b64 @ a64))
    xs = torch.arange(width, device=dev, dtype=f32).view(1, width)
    ys = torch.arange(height, device=dev, dtype=f32).view(1, height)
    ones_y = torch.ones(n, height, device=dev)
    # (B A) u = [(BA)[:, c, 0] x + (BA)[:, c, 2]] * 1  +  (BA)[:, c, 1] * y; rights are (N, 3, W)
    lefts = [ones_y, ys.expand(n, height)]
    rights = [
        ba[:, :, 0:1] * xs + ba[:, :, 2:3],
        ba[:, :, 1:2].expand(n, 3, width),
    ]
    if piecewise is not None:
        disp = torch.as_tensor(_f64(piecewise[0]), dtype=f32).to(dev)
        nb_rows, nb_cols = (torch.as_tensor(_f64(t), dtype=f32).to(dev) for t in piecewise[1:])
        r, c = disp.shape[1], disp.shape[2]
        x_at = a[:, 0, 0:1] * xs + a[:, 0, 2:3]  # (N, W): A' on x
        y_at = a[:, 1, 1:2] * ys + a[:, 1, 2:3]  # (N, H)
        wy = piecewise_weights(y_at, nb_rows, height, r)  # (N, H, R)
        wx = piecewise_weights(x_at, nb_cols, width, c)  # (N, W, C)
        # e[n, r, k, x] = sum_c disp[n, r, c, k] wx[n, x, c]: displacement (dy, dx) of row r at x
        e = torch.bmm(disp.transpose(2, 3).reshape(n, 2 * r, c), wx.transpose(1, 2)).view(n, r, 2, width)
        # B[:, :2] d per control row: (N, R, 3, W); x is B's column 0, y its column 1
        bd = e[:, :, 1:2] * b[:, :, 0].view(n, 1, 3, 1) + e[:, :, 0:1] * b[:, :, 1].view(n, 1, 3, 1)
        # w_A(u) = a20 x + (a21 y + a22); a20 = a21 = 0 unless a perspective follows the piecewise
        wa_y = (a[:, 2, 1:2] * ys + a[:, 2, 2:3]).unsqueeze(2)  # (N, H, 1)
        lefts += [wy * wa_y]
        rights += [bd]
        if projective_after:
            lefts += [wy]
            rights += [bd * (a[:, 2, 0:1] * xs).view(n, 1, 1, width)]
    # rows of h: x, y, and the homogeneous w, needed only where some map is projective
    rows = 3 if piecewise is not None and bool((b64[:, 2, :2] != 0).any()) or bool((b64 @ a64)[:, 2, :2].any()) else 2
    if len(lefts) == 2:  # no piecewise: h = r0(x) + y r1(x), one broadcast pass (a K=2 matmul is slower)
        h = torch.addcmul(rights[0][:, None, :rows], ys.view(1, height, 1, 1), rights[1][:, None, :rows])
    else:
        left = torch.cat([t.unsqueeze(2) if t.dim() == 2 else t for t in lefts], dim=2)  # (N, H, K)
        right = torch.cat([t.unsqueeze(1) if t.dim() == 3 else t for t in rights], dim=1)  # (N, K, 3, W)
        right = right[:, :, :rows].reshape(n, -1, rows * width)
        h = torch.bmm(left, right).view(n, height, rows, width)
    # (N, H, 2, W) -> a (N, H, W, 2) view: grid_sample reads strided grids at full speed,
    # an interleaving copy would cost more than the whole product
    return (h[:, :, :2] / h[:, :, 2:] if rows == 3 else h).transpose(2, 3)


def warp(x: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Bilinear ``grid_sample`` with edge replication (imgaug ``mode='edge'``)."""
    return F.grid_sample(x, grid.to(x.dtype), mode="bilinear", padding_mode="border", align_corners=False)
