"""Throughput of the imgaug reference vs our batched pipeline (images/s).

    python -m seqclr.benchmark.augment [--batch 256] [--device cpu] [--threads N] [--ref-procs P]

Both run on the same batch of 32x100 word-like images, in one process. imgaug is
timed per image, as the authors' data loader used it; ours on the whole batch, with the
backend ``apply`` picks by default (the fused kernel on a CPU, the torch ops on a GPU)
and, on a CPU, the torch ops too (one more row). Per-op rows fix every image to that
one op (ours: all images in one call, default backend).
imgaug runs with one BLAS thread (its fastest single-process setting here; a
multi-threaded OpenBLAS slows skimage's piecewise affine down). ``--threads`` defaults
to 1: imgaug is single-threaded, so this is the per-core comparison, and on a shared CPU torch's OpenMP workers wait on busy cores
(``--threads 0`` keeps torch's own default). ``--threads 2 --ref-procs 2`` is the
whole-machine comparison on a 2-core CPU: ours on both cores against imgaug on two
processes at once (one more table row).
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing as mp
import os
import time
import warnings

import numpy as np
import torch

from seqclr.augment.pipeline import apply, from_uint8, resolve_backend
from seqclr.augment.plan import fixed_params, sample_params
from seqclr.augment.reference import apply_imgaug_op, build_imgaug, import_imgaug
from seqclr.augment.spec import get_spec
from seqclr.benchmark.timing import rate, sync

try:  # comes with umap-learn / scikit-learn (extra [notebooks]); without it BLAS keeps its threads
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

# one op at a time, at mid-range parameters: (imgaug fixed kwargs, our fixed_params values of the op)
_PER_OP = {
    "linear_contrast": ({"alpha": 0.75}, {"alpha": 0.75}),
    "blur": ({"sigma": 0.75}, {"sigma": 0.75}),
    "sharpen": ({"alpha": 0.25, "lightness": 0.25}, {"alpha": 0.25, "lightness": 0.25}),
    "crop_vertical": ({"top": 6, "bottom": 6}, {"top": 0.2, "bottom": 0.2}),
    "crop_horizontal": ({"left": 1, "right": 1}, {"left": 0.01, "right": 0.01}),
    "piecewise_affine": (None, None),  # filled in with random offsets below
    "perspective": (None, None),
}


def _word_like_batch(n: int, h: int = 32, w: int = 100, seed: int = 0) -> np.ndarray:
    """uint8 (n, h, w): white paper with dark strokes (content does not change speed)."""
    rng = np.random.default_rng(seed)
    imgs = np.full((n, h, w), 255, np.uint8)
    for i in range(n):
        for _ in range(10):
            y, x = rng.integers(4, h - 10), rng.integers(0, w - 6)
            imgs[i, y : y + 8, x : x + 3] = rng.integers(0, 60)
    return imgs


def _one_blas_thread():
    """A context in which numpy/scipy's BLAS (skimage's piecewise affine) runs one thread:
    imgaug's best single-process speed, and a fair per-core reference (threadpoolctl when
    installed, else a no-op)."""
    if threadpool_limits is None:  # pragma: no cover
        return contextlib.nullcontext()
    return threadpool_limits(limits=1)


def _rate(fn, n_images: int, repeat: int, min_time: float = 0.5) -> float:
    return rate(fn, n_images, repeat, min_time)


def _sync(device: torch.device) -> None:
    sync(device)


def _imgaug_worker(args: tuple) -> float:
    """One process of the multi-process imgaug reference: augment ``images`` in a loop for
    ``seconds``; returns images/s (run in a fresh process: imgaug is single-threaded)."""
    spec, images, seconds, seed = args

    import_imgaug()
    import cv2  # lazy: opencv comes with imgaug's optional extra [reference]

    cv2.setNumThreads(1)
    aug = build_imgaug(get_spec(spec))
    aug.seed_(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        done, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            for im in images:
                aug(image=im)
            done += len(images)
        return done / (time.perf_counter() - t0)


def imgaug_processes_rate(images: np.ndarray, processes: int, spec: str = "seqclr", seconds: float = 3.0) -> float:
    """imgaug on ``processes`` worker processes at once (a DataLoader's workers): total images/s."""
    # fresh interpreters with one BLAS/OpenMP thread each: the processes are the parallelism
    ctx = mp.get_context("spawn")
    keys = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: "1" for k in keys})
    try:
        with ctx.Pool(processes) as pool:
            rates = pool.map(_imgaug_worker, [(spec, np.asarray(images), seconds, i) for i in range(processes)])
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return float(sum(rates))


def pipeline_rates(
    images: np.ndarray,
    device: str | torch.device = "cpu",
    ref_images: int = 48,
    repeat: int = 3,
    spec: str = "seqclr",
    backend: str = "auto",
) -> tuple[float, float | None]:
    """(ours, imgaug) images/s of the full pipeline on uint8 (N, H, W) ``images``: ours batched on
    ``device`` with ``backend`` (parameter sampling included), imgaug per image on the first
    ``ref_images`` on the CPU (None if imgaug is missing or ref_images is 0)."""
    dev = torch.device(device)
    x = from_uint8(np.asarray(images), dev)
    n = x.shape[0]
    aug_spec = get_spec(spec)
    g = torch.Generator().manual_seed(0)

    def ours() -> None:
        apply(x, sample_params(n, aug_spec, g), backend)
        _sync(dev)

    ours_rate = _rate(ours, n, repeat)
    ref_rate = None
    if ref_images > 0:
        try:
            import_imgaug()
        except ImportError:
            return ours_rate, None
        aug = build_imgaug(aug_spec)
        aug.seed_(0)
        sub = np.asarray(images[:ref_images])
        with warnings.catch_warnings(), _one_blas_thread():
            warnings.simplefilter("ignore", FutureWarning)
            ref_rate = _rate(lambda: [aug(image=im) for im in sub], len(sub), 1, min_time=2.0)
    return ours_rate, ref_rate


def _per_op_params() -> dict:
    """``_PER_OP`` with the piecewise affine's and the perspective's parameters filled in
    (fixed random draws, the same for imgaug and ours)."""
    rng = np.random.RandomState(0)
    pw_off = rng.normal(0, 0.025, (4, 4, 2))
    j = np.mod(np.abs(rng.normal(0, 0.015, (4, 2))), 1)
    corners = j.copy()
    corners[1, 0], corners[2, :], corners[3, 1] = 1 - j[1, 0], 1 - j[2, :], 1 - j[3, 1]
    per_op = dict(_PER_OP)
    per_op["piecewise_affine"] = (
        {"offsets": pw_off, "nb_rows": 4, "nb_cols": 4},
        {"offsets": torch.tensor(pw_off, dtype=torch.float32), "nb_rows": 4, "nb_cols": 4},
    )
    per_op["perspective"] = ({"corners": corners}, {"corners": torch.tensor(corners, dtype=torch.float32)})
    return per_op


def benchmark_augmentation(
    batch: int = 256,
    device: str = "cpu",
    threads: int | None = 1,
    ref_images: int = 48,
    repeat: int = 3,
    ref_procs: int = 0,
):
    """Time both backends and print the table; returns rows (name, imgaug img/s or None, ours img/s).

    ``ref_procs`` > 1 also times imgaug on that many processes at once (the whole CPU, as a
    DataLoader with that many workers would use it) for the pipeline row."""
    if threads and threads > 0:
        torch.set_num_threads(threads)
    dev = torch.device(device)
    imgs = _word_like_batch(batch)
    x = from_uint8(imgs, dev)
    spec = get_spec("seqclr")
    rows = []

    try:
        import_imgaug()
        have_imgaug = True
    except ImportError as exc:
        print(f"(imgaug unavailable: {exc}); timing ours only")
        have_imgaug = False

    ref_sub = imgs[:ref_images]
    per_op = _per_op_params()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        # the full SeqCLR pipeline: random params each call (sampling included in ours)
        backend = resolve_backend(x, "auto")
        ours_rate, ref_rate = pipeline_rates(imgs, dev, ref_images if have_imgaug else 0, repeat, "seqclr")
        rows.append((f"SeqCLR pipeline ({backend})", ref_rate, ours_rate))
        if backend == "fused":  # the torch ops on the same CPU, for comparison
            rows.append(("SeqCLR pipeline (torch)", ref_rate, pipeline_rates(imgs, dev, 0, repeat, "seqclr", "torch")[0]))
        multi = imgaug_processes_rate(ref_sub, ref_procs) if have_imgaug and ref_procs > 1 else None

        for name, (ref_kw, our_kw) in per_op.items():
            params = fixed_params(batch, [name], **{name: our_kw})

            def ours_op(params=params):
                apply(x, params)
                _sync(dev)

            o = _rate(ours_op, batch, repeat)
            r = None
            if have_imgaug:
                with _one_blas_thread():
                    r = _rate(lambda: apply_imgaug_op(ref_sub, name, **ref_kw), len(ref_sub), 1, min_time=1.0)
            rows.append((name, r, o))

    print(
        f"augmentation throughput, {batch} images 32x100, device={dev}, torch threads={torch.get_num_threads()}"
        f" (imgaug timed per image on {len(ref_sub)} of them)"
    )
    print(f"{'':26s} {'imgaug img/s':>14s} {'ours img/s':>12s} {'ratio':>8s}")
    for name, r, o in rows:
        rs = f"{r:14.0f}" if r else f"{'-':>14s}"
        ratio = f"{o / r:7.0f}x" if r else f"{'-':>8s}"
        print(f"{name:26s} {rs} {o:12.0f} {ratio}")
    if multi:
        print(
            f"{rows[0][0]:26s} {multi:14.0f} {rows[0][2]:12.0f} {rows[0][2] / multi:7.0f}x"
            f"   (imgaug on {ref_procs} processes at once, ours on {torch.get_num_threads()} threads)"
        )
    return rows


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (0: torch's default)")
    ap.add_argument("--ref-images", type=int, default=48, help="images imgaug is timed on (it is slow)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--ref-procs", type=int, default=0, help="also time imgaug on this many processes at once (e.g. 2 = the whole CPU)"
    )
    args = ap.parse_args(argv)
    benchmark_augmentation(args.batch, args.device, args.threads, args.ref_images, args.repeat, args.ref_procs)


if __name__ == "__main__":
    main()
