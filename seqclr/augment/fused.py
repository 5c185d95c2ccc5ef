"""The fused CPU kernel of the batched pipeline: every image's ops in one pass, in cache.

:func:`seqclr.augment.pipeline.apply` on CPU float32 batches runs here when numba is
importable (``backend="auto"``). It makes the torch path's computation, to float32
rounding (the same stages in the same order: the same kernels, biases, clamps, one fused
bilinear warp with edge replication at the image's first geometric op), but image by
image: a 32x100 image is 12.8 KB, so all its ops run while it sits in L1, and the
sampling grid is never written to memory (each output pixel's source point is computed
where it is read). The torch path moves each op's whole batch through memory and pays a
fixed cost per call: that is why the kernel is the faster one on a CPU (3-4x here), and
why GPUs keep the torch path.

Images are split into one contiguous chunk per torch thread; the kernel releases the GIL,
so the chunks run in parallel on Python threads (fork-safe, unlike numba's own thread
pools). It is compiled on first use and cached on disk by numba.

The inputs are plain arrays prepared once per batch by :func:`prepare` (numpy, vectorised
over the batch): per image a code for each position of its order, and each op's numbers.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from seqclr.augment import ops as O
from seqclr.augment.plan import Params, geometric_maps_for

# stage codes (``END`` closes an image's sequence)
END, CONTRAST, BLUR, SHARPEN, JITTER, WARP = -1, 0, 1, 2, 3, 4
_CODES = {"linear_contrast": CONTRAST, "blur": BLUR, "sharpen": SHARPEN, "color_jitter": JITTER}

try:  # numba is a dependency, but the torch path must work without it
    import numba

    _HAVE_NUMBA = True
except ImportError:  # pragma: no cover - exercised only where numba is missing
    numba = None
    _HAVE_NUMBA = False


def available() -> bool:
    """Whether the fused CPU kernel can run here (numba importable)."""
    return _HAVE_NUMBA


# --------------------------------------------------------------------------- the kernel

if _HAVE_NUMBA:
    # fast math without "no NaNs / no infs": a degenerate map must still clamp into the image
    _jit = numba.njit(
        nogil=True, cache=True, error_model="numpy", fastmath={"nsz", "arcp", "contract", "afn", "reassoc"}
    )
    # Images are flat float32 vectors (C*H*W, row-major); loops are written so that LLVM
    # vectorises them (contiguous inner loops, float32 constants, branches hoisted).
    _ZERO, _ONE = np.float32(0.0), np.float32(1.0)

    @_jit
    def _clamp01(v):
        v = v if v > _ZERO else _ZERO
        return v if v < _ONE else _ONE

    @_jit
    def _reflect(i, n):
        """Reflect-101 (cv2's default border, torch's ``reflect`` pad) of index i into [0, n)."""
        if i < 0:
            i = -i
        if i >= n:
            i = 2 * n - 2 - i
        return i

    @_jit
    def _pad(img, base, h, w, pad, buf):
        """buf[(h + 2 pad) x (w + 2 pad)] = channel image img[base: base + h w] with
        reflect-101 borders."""
        uw, up = np.uint64(w), np.uint64(pad)
        wp = uw + up + up
        for yy in range(h + 2 * pad):
            src = np.uint64(base + _reflect(yy - pad, h) * w)
            dst = np.uint64(yy) * wp
            for xx in range(pad):
                buf[dst + np.uint64(xx)] = img[src + np.uint64(_reflect(xx - pad, w))]
                buf[dst + uw + up + np.uint64(xx)] = img[src + np.uint64(_reflect(w + xx, w))]
            mid = dst + up
            for x in range(uw):
                buf[mid + x] = img[src + x]

    @_jit
    def _contrast(img, alpha, center):
        bias = center * (_ONE - alpha)
        for j in range(img.shape[0]):
            img[j] = _clamp01(alpha * img[j] + bias)

    @_jit
    def _filter(img, ch, h, w, k1, k2, buf, acc):
        """Correlate each channel with a kernel, reflect-101 borders, clamp: the 2-D
        kernel ``k2`` (s x s), or when it is empty the separable ``k1`` down the columns
        then along the rows. Each tap is ONE loop over the padded image (rows of the
        padded width; the columns past ``w`` are junk, never read back): a 32x100 image
        has rows too short for per-row loops to pay their set-up."""
        sep = k2.shape[0] == 0
        r = k1.shape[0] // 2 if sep else k2.shape[0] // 2
        wp = w + 2 * r
        n1 = np.uint64(h * wp)  # outputs: h rows of the padded width
        n2 = n1 - np.uint64(2 * r)  # the last row's junk tail is not computed
        for c in range(ch):
            base = c * h * w
            _pad(img, base, h, w, r, buf)
            for j in range(n1):
                acc[j] = _ZERO
            if sep:
                for t in range(2 * r + 1):  # down the columns: buf -> acc
                    kt, off = k1[t], np.uint64(t * wp)
                    for j in range(n1):
                        acc[j] += kt * buf[off + j]
                for j in range(n1):
                    buf[j] = _ZERO
                for t in range(2 * r + 1):  # along the rows: acc -> buf
                    kt, off = k1[t], np.uint64(t)
                    for j in range(n2):
                        buf[j] += kt * acc[off + j]
                res = buf
            else:
                for ty in range(2 * r + 1):
                    for tx in range(2 * r + 1):
                        kt, off = k2[ty, tx], np.uint64(ty * wp + tx)
                        for j in range(n2):
                            acc[j] += kt * buf[off + j]
                res = acc
            for y in range(h):
                src, dst = np.uint64(y * wp), np.uint64(base + y * w)
                for x in range(np.uint64(w)):
                    img[dst + x] = _clamp01(res[src + x])

    @_jit
    def _jitter(img, brightness, contrast):
        total = 0.0
        for j in range(img.shape[0]):
            v = _clamp01(img[j] * brightness)
            img[j] = v
            total += v
        mean = np.float32(total / img.shape[0])
        for j in range(img.shape[0]):
            img[j] = _clamp01(mean + contrast * (img[j] - mean))

    @_jit
    def _warp(src, dst, ch, h, w, m, b, a, disp, nb_r, nb_c, pw, xs, ys, col0, colf, e, sx, sy, tap):
        """dst = src resampled at B(A(u) + w_A(u) d(A'(u))) (see ops.geometric_grid),
        bilinear, edge replicated (grid_sample's border mode); m = B A; all maps
        output->source in pixel coordinates (float64 3x3); xs, ys: every pixel's x and y
        (float32, h*w); sx, sy, tap: scratch for the source coordinates (h*w)."""
        hw = h * w
        uhw = np.uint64(hw)
        m00, m01, m02 = np.float32(m[0, 0]), np.float32(m[0, 1]), np.float32(m[0, 2])
        m10, m11, m12 = np.float32(m[1, 0]), np.float32(m[1, 1]), np.float32(m[1, 2])
        m20, m21, m22 = np.float32(m[2, 0]), np.float32(m[2, 1]), np.float32(m[2, 2])
        if pw:
            # per column: the control cell and weight of A'(x), then the displacement of
            # every control row interpolated there (e[(r * 2 + 0 = dy / 1 = dx) * w + x])
            sc = (nb_c - 1.0) / w
            for x in range(w):
                t = (a[0, 0] * x + a[0, 2]) * sc
                t = min(max(t, 0.0), nb_c - 1.0)
                j = min(int(t), nb_c - 2)
                col0[x] = j
                colf[x] = t - j
            for r in range(nb_r):
                for k in range(2):
                    off = np.uint64((r * 2 + k) * w)
                    for x in range(w):
                        f = colf[x]
                        j = col0[x]
                        e[off + np.uint64(x)] = (_ONE - f) * disp[r, j, k] + f * disp[r, j + 1, k]
            sr = (nb_r - 1.0) / h
            b00, b01, b10 = np.float32(b[0, 0]), np.float32(b[0, 1]), np.float32(b[1, 0])
            b11, b20, b21 = np.float32(b[1, 1]), np.float32(b[2, 0]), np.float32(b[2, 1])
            a20 = np.float32(a[2, 0])
            uw = np.uint64(w)
            for y in range(h):
                t = min(max((a[1, 1] * y + a[1, 2]) * sr, 0.0), nb_r - 1.0)
                cell = min(int(t), nb_r - 2)
                fy = np.float32(t - cell)
                gy = _ONE - fy
                yf = np.float32(y)
                hx0, hy0, hw0 = m01 * yf + m02, m11 * yf + m12, m21 * yf + m22
                wa0 = np.float32(a[2, 1] * y + a[2, 2])
                ey0 = np.uint64(cell * 2 * w)
                ex0, ey1, ex1 = ey0 + uw, ey0 + uw + uw, ey0 + uw + uw + uw
                o = np.uint64(y * w)
                for x in range(uw):
                    dy = gy * e[ey0 + x] + fy * e[ey1 + x]
                    dx = gy * e[ex0 + x] + fy * e[ex1 + x]
                    u = xs[x]
                    wa = wa0 + a20 * u
                    hh = hw0 + m20 * u + wa * (b20 * dx + b21 * dy)
                    sx[o + x] = (hx0 + m00 * u + wa * (b00 * dx + b01 * dy)) / hh
                    sy[o + x] = (hy0 + m10 * u + wa * (b10 * dx + b11 * dy)) / hh
        elif m20 != _ZERO or m21 != _ZERO:
            for j in range(uhw):
                u, v = xs[j], ys[j]
                hh = m20 * u + m21 * v + m22
                sx[j] = (m00 * u + m01 * v + m02) / hh
                sy[j] = (m10 * u + m11 * v + m12) / hh
        else:
            inv = _ONE / m22
            for j in range(uhw):
                u, v = xs[j], ys[j]
                sx[j] = (m00 * u + m01 * v + m02) * inv
                sy[j] = (m10 * u + m11 * v + m12) * inv
        # clamp into the image, split into the top-left tap and the weights (one
        # vectorised loop), then gather the four taps (a scalar loop, kept minimal). At
        # the last column / row the weight of the next one is exactly 0, so its tap may
        # read one past: src carries a zero tail of w + 1 values for that.
        wm1, hm1 = np.float32(w - 1), np.float32(h - 1)
        uw32, uw1, uh1 = np.uint32(w), np.uint32(w - 1), np.uint32(h - 1)
        for j in range(uhw):
            fx, fy = sx[j], sy[j]
            fx = fx if fx > _ZERO else _ZERO
            fx = fx if fx < wm1 else wm1
            fy = fy if fy > _ZERO else _ZERO
            fy = fy if fy < hm1 else hm1
            x0, y0 = min(np.uint32(fx), uw1), min(np.uint32(fy), uh1)  # memory-safe even for NaN
            sx[j] = fx - np.float32(x0)
            sy[j] = fy - np.float32(y0)
            tap[j] = y0 * uw32 + x0
        uw = np.uint64(w)
        for c in range(ch):
            sb = np.uint64(c * hw)
            for j in range(uhw):
                i = sb + np.uint64(tap[j])
                v00, v01 = src[i], src[i + np.uint64(1)]
                v10, v11 = src[i + uw], src[i + uw + np.uint64(1)]
                ax, ay = sx[j], sy[j]
                top = v00 + ax * (v01 - v00)
                bot = v10 + ax * (v11 - v10)
                dst[sb + j] = top + ay * (bot - top)

    @_jit
    def _augment(
        x, out, code, alpha, blur_k, sharp_k, jitter, geo_row, m, b, a, disp, nb_rc, has_pw, center, lo, hi
    ):
        """Images lo..hi-1 of x (N, C, H, W) float32 -> out, each through its codes in order."""
        n, ch, h, w = x.shape
        size = ch * h * w
        xf = x.reshape(n, size)
        of = out.reshape(n, size)
        pad = max(blur_k.shape[1] // 2, 1)
        # image buffers with a zero tail (see _warp); ops write the first `size` values only
        cur = np.zeros(size + w + 1, np.float32)
        tmp = np.zeros(size + w + 1, np.float32)
        buf = np.empty((h + 2 * pad) * (w + 2 * pad), np.float32)
        acc = np.empty((h + 2 * pad) * (w + 2 * pad), np.float32)
        col0 = np.empty(w, np.int64)
        colf = np.empty(w, np.float32)
        e = np.empty(max(disp.shape[1], 2) * 2 * w, np.float32)
        xs = np.empty(h * w, np.float32)  # every pixel's x and y
        ys = np.empty(h * w, np.float32)
        for y in range(h):
            for x in range(w):
                xs[y * w + x] = x
                ys[y * w + x] = y
        sx = np.empty(h * w, np.float32)
        sy = np.empty(h * w, np.float32)
        tap = np.empty(h * w, np.uint32)
        no_kernel = np.empty((0, 0), np.float32)
        for i in range(lo, hi):
            src = xf[i]
            for j in range(size):
                cur[j] = src[j]
            for pos in range(code.shape[1]):
                k = code[i, pos]
                if k == END:
                    break
                if k == CONTRAST:
                    _contrast(cur[:size], alpha[i], center)
                elif k == BLUR:
                    _filter(cur, ch, h, w, blur_k[i], no_kernel, buf, acc)
                elif k == SHARPEN:
                    _filter(cur, ch, h, w, blur_k[i], sharp_k[i], buf, acc)
                elif k == JITTER:
                    _jitter(cur[:size], jitter[i, 0], jitter[i, 1])
                else:
                    g = geo_row[i]
                    _warp(
                        cur, tmp, ch, h, w, m[g], b[g], a[g], disp[g], nb_rc[g, 0], nb_rc[g, 1], has_pw[g],
                        xs, ys, col0, colf, e, sx, sy, tap,
                    )  # fmt: skip
                    cur, tmp = tmp, cur
            dst = of[i]
            for j in range(size):
                dst[j] = cur[j]


# --------------------------------------------------------------------------- host side


def prepare(x: torch.Tensor, params: Params, stages: list[str], seq: np.ndarray) -> tuple:
    """The kernel's arrays for a batch (see :func:`_augment`), from
    :func:`seqclr.augment.plan.plan_stages`' output."""
    n, _, h, w = x.shape
    n_stages = len(stages)
    if h < 2 or w < 2:
        raise ValueError(f"augment (fused): images must be at least 2x2, got {h}x{w}")
    table = np.array([_CODES.get(s, WARP) for s in stages] + [END], dtype=np.int8)
    code = table[seq]
    f32 = np.float32

    def col(op: str, key: str, default: float = 0.0) -> np.ndarray:
        v = params.values.get(op, {}).get(key)
        return np.full(n, default, f32) if v is None else v.numpy().astype(f32)

    alpha = col("linear_contrast", "alpha", 1.0)
    if "blur" in stages:
        sigma = params.values["blur"]["sigma"]
        ksize = O.gaussian_kernel_size(float(sigma.max()))
        blur_k = O.gaussian_kernels(sigma, ksize).numpy().astype(f32)
        if ksize // 2 >= min(h, w):
            raise ValueError(
                f"augment (fused): blur sigma {float(sigma.max()):.3g} needs a {ksize}-tap kernel, "
                f"too large for {h}x{w} images (reflect padding)"
            )
    else:
        blur_k = np.zeros((n, 1), f32)
    if "sharpen" in stages:
        sharpen = params.values["sharpen"]
        sharp_k = O.sharpen_kernels(sharpen["alpha"], sharpen["lightness"]).numpy().astype(f32)
    else:
        sharp_k = np.zeros((n, 3, 3), f32)
    jitter = np.stack([col("color_jitter", "brightness", 1.0), col("color_jitter", "contrast", 1.0)], axis=1)
    geo_row = np.full(n, -1, np.int64)
    eye = np.eye(3)[None]
    m = b = a = eye
    disp = np.zeros((1, 2, 2, 2), f32)
    nb_rc = np.full((1, 2), 2, np.int64)
    has_pw = np.zeros(1, np.bool_)
    if stages and stages[-1] not in _CODES:  # the fused geometric stage
        rows = np.flatnonzero((seq == n_stages - 1).any(axis=1))
        if rows.size:
            geo_row[rows] = np.arange(rows.size)
            b, after, piecewise = geometric_maps_for(params, rows, h, w)
            a = after if piecewise is not None else np.broadcast_to(eye, b.shape)
            m = b @ a
            if piecewise is not None:
                d, nbr, nbc = piecewise
                disp = np.ascontiguousarray(d, dtype=f32)
                nb_rc = np.stack([nbr, nbc], axis=1).astype(np.int64)
                has_pw = np.abs(d).reshape(rows.size, -1).max(axis=1) > 0
            else:
                disp = np.zeros((rows.size, 2, 2, 2), f32)
                nb_rc = np.full((rows.size, 2), 2, np.int64)
                has_pw = np.zeros(rows.size, np.bool_)
    contig = np.ascontiguousarray
    return (
        contig(code),
        alpha,
        contig(blur_k),
        contig(sharp_k),
        contig(jitter),
        geo_row,
        contig(m, dtype=np.float64),
        contig(b, dtype=np.float64),
        contig(a, dtype=np.float64),
        disp,
        nb_rc,
        has_pw,
    )


_pool: tuple[int, int, ThreadPoolExecutor] | None = None
_pool_lock = threading.Lock()


def _executor(threads: int) -> ThreadPoolExecutor:
    """A thread pool of ``threads`` workers for this process (re-made after a fork, whose
    child has none of the parent's pool threads, or when the thread count changes)."""
    global _pool
    with _pool_lock:
        if _pool is None or _pool[0] != os.getpid() or _pool[1] != threads:
            if _pool is not None and _pool[0] == os.getpid():
                _pool[2].shutdown(wait=False)
            _pool = (os.getpid(), threads, ThreadPoolExecutor(threads, thread_name_prefix="seqclr-augment"))
        return _pool[2]


def apply_fused(x: torch.Tensor, params: Params, stages: list[str], seq: np.ndarray, threads: int | None = None) -> torch.Tensor:
    """The fused kernel on a CPU float32 batch: the same result as the torch path of
    :func:`seqclr.augment.pipeline.apply`. ``threads`` defaults to torch's."""
    if not _HAVE_NUMBA:
        raise RuntimeError("the fused CPU augmentation kernel needs numba (pip install numba)")
    xs = x.detach().contiguous()
    n = xs.shape[0]
    out = torch.empty_like(xs)
    args = prepare(xs, params, stages, seq)
    xa, oa = xs.numpy(), out.numpy()
    threads = max(1, threads or torch.get_num_threads())
    chunks = min(threads, n)
    bounds = np.linspace(0, n, chunks + 1).astype(int)
    call = lambda lo, hi: _augment(xa, oa, *args, np.float32(O.CENTER), lo, hi)  # noqa: E731
    if chunks <= 1:
        call(0, n)
    else:
        pool = _executor(threads)
        futures = [pool.submit(call, int(lo), int(hi)) for lo, hi in zip(bounds[:-1], bounds[1:])]
        for f in futures:
            f.result()
    return out
