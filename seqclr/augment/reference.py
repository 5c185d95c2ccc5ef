"""The imgaug reference backend (appendix B), built from the same :class:`AugmentSpec`.

imgaug is optional (``pip install seqclr[reference]``) and unmaintained (numpy<2):
it is imported lazily, only inside these functions, never at ``import seqclr``.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from seqclr.augment.plan import Params
from seqclr.augment.spec import AugmentSpec, OpSpec, get_spec

_NUMPY_ALIASES = {"bool": bool, "int": int, "float": float, "complex": complex, "object": object, "str": str}


def import_imgaug():
    """Import and return ``imgaug.augmenters``, restoring the numpy aliases imgaug 0.4
    still uses (``np.bool`` ...). Raises ImportError with the install hint if missing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # numpy warns on probing its removed aliases
        for name, value in _NUMPY_ALIASES.items():
            if not hasattr(np, name):
                setattr(np, name, value)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # lazy: imgaug (extra [reference]) needs numpy<2 and is not installed on GPU machines
            import imgaug.augmenters as iaa  # noqa: PLC0415
    except ImportError as exc:  # also raised when sys.modules['imgaug'] is None
        raise ImportError(
            "the imgaug reference backend needs imgaug 0.4 and opencv: "
            "pip install seqclr[reference]  (requires numpy<2)"
        ) from exc
    return iaa


def _fixed_array_param(values: np.ndarray):
    """An imgaug StochasticParameter that always returns ``values`` (reshaped to the
    requested size): lets us drive PerspectiveTransform / PiecewiseAffine with known
    jitter while the rest of imgaug's code runs unchanged."""
    import imgaug.parameters as iap  # noqa: PLC0415  # lazy: optional imgaug, as in import_imgaug

    class _Fixed(iap.StochasticParameter):
        def __init__(self, arr: np.ndarray) -> None:
            super().__init__()
            self.arr = np.asarray(arr, dtype=np.float64)

        def _draw_samples(self, size, random_state):
            return self.arr.reshape(size)

    return _Fixed(values)


def _range(r: tuple[float, float]) -> Any:
    """imgaug takes a tuple for a uniform range, a number for a fixed value."""
    return r[0] if r[0] == r[1] else (r[0], r[1])


def _op_augmenter(op: OpSpec):
    """One imgaug augmenter for one spec op (with its random ranges)."""
    iaa = import_imgaug()
    p = op.params
    name = op.name
    if name == "linear_contrast":
        return iaa.LinearContrast(_range(p["alpha"]))
    if name == "blur":
        return iaa.GaussianBlur(sigma=_range(p["sigma"]))
    if name == "sharpen":
        return iaa.Sharpen(alpha=_range(p["alpha"]), lightness=_range(p["lightness"]))
    if name == "crop_vertical":
        return iaa.Crop(percent=((0, p["top"][1]), (0, 0), (0, p["bottom"][1]), (0, 0)), keep_size=True)
    if name in ("crop_horizontal", "crop_aggressive"):
        return iaa.Crop(percent=((0, 0), (0, p["right"][1]), (0, 0), (0, p["left"][1])), keep_size=True)
    if name == "piecewise_affine":
        rows = tuple(int(v) for v in p["nb_rows"])
        cols = tuple(int(v) for v in p["nb_cols"])
        return iaa.PiecewiseAffine(
            scale=_range(p["scale"]),
            nb_rows=rows[0] if rows[0] == rows[1] else rows,
            nb_cols=cols[0] if cols[0] == cols[1] else cols,
            mode="edge",
        )
    if name == "perspective":
        return iaa.PerspectiveTransform(scale=_range(p["scale"]))
    if name == "flip":
        return iaa.Fliplr(1.0)
    if name == "random_resized_crop":
        return _random_resized_crop(iaa, p["scale"], p["ratio"])
    if name == "color_jitter":
        return _color_jitter(iaa, p["brightness"], p["contrast"])
    raise ValueError(f"reference: no imgaug augmenter for op {name!r}")


def _random_resized_crop(iaa, scale, ratio):
    """SimCLR's random resized crop (no imgaug equivalent) as an imgaug Lambda with the
    same fraction-space sampling as the torch backend."""
    import cv2  # noqa: PLC0415  # lazy: opencv comes with the optional extra [reference]

    def func(images, random_state, parents, hooks):
        out = []
        for img in images:
            h, w = img.shape[:2]
            area = random_state.uniform(*scale)
            r = np.exp(random_state.uniform(np.log(ratio[0]), np.log(ratio[1])))
            cw, ch = min(1.0, np.sqrt(area * r)), min(1.0, np.sqrt(area / r))
            x0, y0 = random_state.uniform() * (1 - cw), random_state.uniform() * (1 - ch)
            a, b = int(round(x0 * w)), int(round(y0 * h))
            c, d = max(a + 1, int(round((x0 + cw) * w))), max(b + 1, int(round((y0 + ch) * h)))
            crop = img[b:d, a:c]
            res = cv2.resize(crop, (w, h), interpolation=cv2.INTER_LINEAR)
            out.append(res.reshape(img.shape))
        return out

    return iaa.Lambda(func_images=func)


def _color_jitter(iaa, brightness, contrast):
    """Brightness (multiply) then contrast around the image mean, as torchvision."""

    def func(images, random_state, parents, hooks):
        out = []
        for img in images:
            b = random_state.uniform(*brightness)
            c = random_state.uniform(*contrast)
            v = np.clip(img.astype(np.float32) * b, 0, 255)
            v = np.clip(v.mean() + c * (v - v.mean()), 0, 255)
            out.append(np.round(v).astype(np.uint8))
        return out

    return iaa.Lambda(func_images=func)


def build_imgaug(spec: AugmentSpec | str | dict):
    """The imgaug pipeline of a spec: ``SomeOf((1, None), ops, random_order)`` for
    ``some_of`` (the SeqCLR pipeline), else ``Sequential`` of ``Sometimes(p, op)``."""
    spec = get_spec(spec)
    iaa = import_imgaug()
    children = []
    for op in spec.enabled_ops:
        aug = _op_augmenter(op)
        if op.p < 1.0:
            aug = iaa.Sometimes(op.p, aug)
        children.append(aug)
    if spec.composition == "some_of":
        return iaa.SomeOf((1, None), children, random_order=spec.random_order)
    return iaa.Sequential(children, random_order=spec.random_order)


def augment_numpy(images: np.ndarray, spec: AugmentSpec | str | dict = "seqclr", seed: int | None = None) -> np.ndarray:
    """Augment uint8 images (N, H, W) with the imgaug pipeline of ``spec``; each image
    is augmented on its own (as the authors' per-sample data loader did)."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"augment_numpy: expected uint8 (N, H, W), got {images.dtype} {images.shape}")
    aug = build_imgaug(spec)
    if seed is not None:
        aug.seed_(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # skimage's estimate() deprecation
        return np.stack([aug(image=img) for img in images])


def imgaug_op(name: str, **fixed: Any):
    """One deterministic imgaug augmenter at fixed parameters (for parity tests).

    - ``linear_contrast(alpha)``, ``blur(sigma)``, ``sharpen(alpha, lightness)``
    - ``crop_vertical(top, bottom)`` / ``crop_horizontal(left, right)`` /
      ``crop_aggressive(left, right)``: whole pixels (int), as imgaug rounds fractions
    - ``perspective(corners)``: (4, 2) quad [tl, tr, br, bl] as (x, y) fractions
    - ``piecewise_affine(offsets, nb_rows, nb_cols)``: offsets (nb_rows, nb_cols, 2) as
      (dy, dx) fractions of (H, W)
    - ``flip()``
    - ``random_resized_crop(x0, y0, w, h)`` (fractions), ``color_jitter(brightness, contrast)``
    """
    iaa = import_imgaug()
    if name == "linear_contrast":
        return iaa.LinearContrast(float(fixed["alpha"]))
    if name == "blur":
        return iaa.GaussianBlur(sigma=float(fixed["sigma"]))
    if name == "sharpen":
        return iaa.Sharpen(alpha=float(fixed["alpha"]), lightness=float(fixed["lightness"]))
    if name == "crop_vertical":
        return iaa.Crop(px=(int(fixed.get("top", 0)), 0, int(fixed.get("bottom", 0)), 0), keep_size=True)
    if name in ("crop_horizontal", "crop_aggressive"):
        return iaa.Crop(px=(0, int(fixed.get("right", 0)), 0, int(fixed.get("left", 0))), keep_size=True)
    if name == "flip":
        return iaa.Fliplr(1.0)
    if name == "perspective":
        corners = np.asarray(fixed["corners"], dtype=np.float64).reshape(4, 2)
        # imgaug: points = |jitter| mod 1, then tr.x, br.x, br.y, bl.y are mirrored.
        jitter = corners.copy()
        jitter[1, 0] = 1.0 - corners[1, 0]
        jitter[2, :] = 1.0 - corners[2, :]
        jitter[3, 1] = 1.0 - corners[3, 1]
        aug = iaa.PerspectiveTransform(scale=0.01, keep_size=True)
        aug.jitter = _fixed_array_param(jitter)
        return aug
    if name == "piecewise_affine":
        offsets = np.asarray(fixed["offsets"], dtype=np.float64)
        rows, cols = int(fixed["nb_rows"]), int(fixed["nb_cols"])
        if offsets.shape != (rows, cols, 2):
            raise ValueError(f"imgaug_op: offsets shape {offsets.shape} != ({rows}, {cols}, 2)")
        aug = iaa.PiecewiseAffine(scale=0.01, nb_rows=rows, nb_cols=cols, mode="edge")
        aug.jitter = _fixed_array_param(offsets.reshape(rows * cols, 2))
        return aug
    if name == "random_resized_crop":
        box = tuple(float(fixed[k]) for k in ("x0", "y0", "w", "h"))
        return iaa.Lambda(func_images=lambda images, *a: [_crop_resize(im, *box) for im in images])
    if name == "color_jitter":
        b, c = float(fixed["brightness"]), float(fixed["contrast"])
        return iaa.Lambda(func_images=lambda images, *a: [_jitter(im, b, c) for im in images])
    raise ValueError(f"imgaug_op: unknown op {name!r}")


def _crop_resize(img: np.ndarray, x0: float, y0: float, cw: float, ch: float) -> np.ndarray:
    """Crop the box (fractions, rounded to whole pixels) and resize it bilinearly."""
    import cv2  # noqa: PLC0415  # lazy: opencv comes with the optional extra [reference]

    h, w = img.shape[:2]
    a, b = int(round(x0 * w)), int(round(y0 * h))
    c, d = max(a + 1, int(round((x0 + cw) * w))), max(b + 1, int(round((y0 + ch) * h)))
    return cv2.resize(img[b:d, a:c], (w, h), interpolation=cv2.INTER_LINEAR).reshape(img.shape)


def _jitter(img: np.ndarray, brightness: float, contrast: float) -> np.ndarray:
    """Brightness (multiply) then contrast around the image mean, as torchvision."""
    v = np.clip(img.astype(np.float32) * brightness, 0, 255)
    v = np.clip(v.mean() + contrast * (v - v.mean()), 0, 255)
    return np.round(v).astype(np.uint8)


def _fixed_kwargs(name: str, params: Params, i: int, height: int, width: int) -> dict[str, Any]:
    """The imgaug_op arguments of image ``i`` for op ``name`` from torch-side params."""
    def v(key: str):
        return params.values[name][key][i]

    if name == "linear_contrast":
        return {"alpha": float(v("alpha"))}
    if name == "blur":
        return {"sigma": float(v("sigma"))}
    if name == "sharpen":
        return {"alpha": float(v("alpha")), "lightness": float(v("lightness"))}
    if name == "crop_vertical":
        return {"top": round(float(v("top")) * height), "bottom": round(float(v("bottom")) * height)}
    if name in ("crop_horizontal", "crop_aggressive"):
        return {"left": round(float(v("left")) * width), "right": round(float(v("right")) * width)}
    if name == "perspective":
        return {"corners": v("corners").double().numpy()}
    if name == "piecewise_affine":
        r, c = int(v("nb_rows")), int(v("nb_cols"))
        return {"offsets": v("offsets")[:r, :c].double().numpy(), "nb_rows": r, "nb_cols": c}
    if name == "random_resized_crop":
        return {k: float(v(k)) for k in ("x0", "y0", "w", "h")}
    if name == "color_jitter":
        return {"brightness": float(v("brightness")), "contrast": float(v("contrast"))}
    return {}


def apply_params_numpy(images: np.ndarray, params: Params) -> np.ndarray:
    """Apply torch-side parameters (:func:`seqclr.augment.plan.sample_params`) with
    imgaug, op by op in each image's order, so both backends can be shown on the SAME
    draws (the explorer). Crop fractions are rounded to whole pixels, as imgaug does."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ValueError(f"apply_params_numpy: expected uint8 (N, H, W), got {images.dtype} {images.shape}")
    if params.n_images != len(images):
        raise ValueError(f"apply_params_numpy: params for {params.n_images} images, got {len(images)}")
    ops = params.ops
    h, w = images.shape[1:]
    out = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for i, img in enumerate(images):
            act = params.active[i]
            order = params.order[i]
            for k in sorted((k for k in range(len(ops)) if bool(act[k])), key=lambda k: int(order[k])):
                img = imgaug_op(ops[k], **_fixed_kwargs(ops[k], params, i, h, w))(image=img)
            out.append(img)
    return np.stack(out)


def apply_imgaug_op(images: np.ndarray, name: str, **fixed: Any) -> np.ndarray:
    """Apply :func:`imgaug_op` to uint8 images (N, H, W)."""
    aug = imgaug_op(name, **fixed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return np.stack([aug(image=img) for img in np.asarray(images)])
