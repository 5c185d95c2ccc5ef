"""SimCLR's augmentations: our batched ops held against torchvision (``transforms.v2``), the
reference for SimCLR's as imgaug is for SeqCLR's (tests/test_augment_parity.py).

Each op of the SimCLR spec (random resized crop, horizontal flip, brightness / contrast jitter,
Gaussian blur) runs through our pipeline at fixed parameters, with both of our backends (and on a
GPU when there is one), and is compared with the torchvision.transforms.v2.functional call at the
same parameters, on real words (Kalam handwriting, 32x100, float in [0, 1]). Errors are absolute
differences on the [0, 1] scale; every tolerance says why.

Where ours differs from torchvision by design (documented in seqclr.augment.spec.simclr_spec):
the crop box's outermost output pixels (measured and bounded below), the fixed brightness ->
contrast order (torchvision's ColorJitter draws the order), the blur kernel size rule and the
aspect ratio range taken relative to the image.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

pytest.importorskip("torchvision")
fontpkg_kalam = pytest.importorskip("fontpkg_kalam")
from torchvision.transforms import v2 as T  # noqa: E402
from torchvision.transforms.v2 import functional as TF  # noqa: E402

from seqclr.augment import fused  # noqa: E402
from seqclr.augment import ops as O  # noqa: E402
from seqclr.augment.pipeline import apply, from_uint8  # noqa: E402
from seqclr.augment.plan import fixed_params, sample_params  # noqa: E402
from seqclr.augment.spec import simclr_spec  # noqa: E402

from tests.word_images import H, W, kalam_words  # noqa: E402
# float32 rounding of the same formula (a product, a blend, a 2-D convolution): ~1e-7
EXACT = 1e-6
# a warp samples at coordinates that went through grid_sample's [-1, 1] normalisation in float32:
# the sampling point moves by ~1e-5 px, so the value by ~1e-5 of a neighbour difference
GRID = 2e-5


@pytest.fixture(scope="module")
def words() -> torch.Tensor:
    x = from_uint8(kalam_words(fontpkg_kalam.ROOT))
    assert x.min() < 0.15 and x.max() > 0.85  # real ink on paper
    return x


@pytest.fixture(params=["torch", "fused", "cuda"])
def run(request, words):
    """ours(ops, **values) on the words (values: op -> its fixed_params values): our torch ops (CPU), the fused CPU kernel, the torch ops on
    a GPU; returns (input, output) on the CPU."""
    if request.param == "fused" and not fused.available():
        pytest.skip("numba not importable: no fused kernel")
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("no GPU")
    device = "cuda" if request.param == "cuda" else "cpu"
    backend = "fused" if request.param == "fused" else "torch"

    def ours(ops, **values) -> torch.Tensor:
        ops = [ops] if isinstance(ops, str) else ops
        return apply(words.to(device), fixed_params(len(words), ops, **values), backend=backend).cpu()

    return ours


def changed(x: torch.Tensor, out: torch.Tensor) -> None:
    """Guard: the op did something, so a small difference means something."""
    assert (out - x).abs().mean() > 0.01


def test_the_simclr_spec_is_these_ops_with_simclrs_numbers():
    """The ops tested here are the SimCLR spec's, in SimCLR's order, with the numbers of SimCLR's
    recipe as torchvision spells it (Chen et al. 2020, appendix A: crop 8-100% area, aspect
    3/4-4/3, flip 0.5, color jitter strength 1 (brightness = contrast = 0.8) applied with p 0.8,
    blur sigma 0.1-2 with p 0.5); saturation, hue and random grayscale do nothing to gray images."""
    spec = simclr_spec()
    assert [op.name for op in spec.enabled_ops] == ["random_resized_crop", "flip", "color_jitter", "blur"]
    assert spec.composition == "sequential"
    crop, jitter, blur = T.RandomResizedCrop(224), T.ColorJitter(0.8, 0.8, 0.8, 0.2), T.GaussianBlur(23, (0.1, 2.0))
    assert spec["random_resized_crop"].params["scale"] == pytest.approx(crop.scale)
    assert spec["random_resized_crop"].params["ratio"] == pytest.approx(crop.ratio)
    assert spec["flip"].p == T.RandomHorizontalFlip().p
    assert spec["color_jitter"].params["brightness"] == pytest.approx(jitter.brightness)
    assert spec["color_jitter"].params["contrast"] == pytest.approx(jitter.contrast)
    assert spec["color_jitter"].p == 0.8
    assert spec["blur"].params["sigma"] == pytest.approx(tuple(blur.sigma))
    assert spec["blur"].p == 0.5


# ---------------------------------------------------------------- photometric (exact)


@pytest.mark.parametrize("brightness, contrast", [(0.2, 1.8), (1.8, 0.2), (0.6, 1.4), (1.3, 0.5), (1.0, 1.0)])
def test_color_jitter_is_adjust_brightness_then_adjust_contrast(run, words, brightness, contrast):
    got = run("color_jitter", color_jitter={"brightness": brightness, "contrast": contrast})
    ref = torch.stack([TF.adjust_contrast(TF.adjust_brightness(im, brightness), contrast) for im in words])
    if (brightness, contrast) != (1.0, 1.0):
        changed(words, ref)
    # the same formulas: v * b clipped, then blended with the image's mean gray by c, clipped
    # (measured: <= 6e-8)
    assert (got - ref).abs().max() <= EXACT


@pytest.mark.parametrize("sigma", [0.1, 0.5, 1.0, 1.5, 2.0])
def test_gaussian_blur_is_torchvisions_kernel(run, words, sigma):
    k = O.gaussian_kernel_size(sigma)  # our kernel size rule (imgaug's): 5 taps, 7 at sigma 2
    got = run("blur", blur={"sigma": sigma})
    ref = TF.gaussian_blur(words, [k, k], [sigma, sigma])
    if sigma >= 0.5:
        changed(words, ref)
    # the same normalised Gaussian taps and the same reflect (cv2 reflect-101) border
    # (measured: <= 5e-7)
    assert (got - ref).abs().max() <= EXACT


def test_gaussian_blur_per_image_sigma_in_one_batch(run, words):
    """One batch, one sigma per image: each image is torchvision's blur at its own sigma, with the
    batch's kernel size (our rule for the largest sigma)."""
    sigma = [0.1, 0.7, 1.3, 2.0]
    k = O.gaussian_kernel_size(max(sigma))
    got = run("blur", blur={"sigma": sigma})
    ref = torch.stack([TF.gaussian_blur(im, [k, k], [s, s]) for im, s in zip(words, sigma)])
    assert (got - ref).abs().max() <= EXACT


# ---------------------------------------------------------------- geometric


def test_flip_is_horizontal_flip(run, words):
    got = run("flip")
    ref = TF.horizontal_flip(words)
    changed(words, ref)
    # sampling at the mirrored pixel centres (measured: 6e-6 torch path, 0 fused)
    assert (got - ref).abs().max() <= GRID


def _box_weights(top: int, left: int, h: int, w: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per output pixel: whether its source point lies inside the box (there the resize is
    torchvision's exactly) and the weight our bilinear sample gives pixels beyond the box (a
    source point s < 0 in box coordinates reads -s of the pixel beyond; torchvision reads none)."""

    def axis(n_out: int, size: int) -> np.ndarray:
        s = (np.arange(n_out) + 0.5) * size / n_out - 0.5  # half-pixel centres, box coordinates
        return np.clip(np.maximum(-s, s - (size - 1)), 0.0, None)

    ay, ax = axis(H, h)[:, None], axis(W, w)[None, :]
    outside = 1.0 - (1.0 - ay) * (1.0 - ax)
    return torch.from_numpy(outside == 0), torch.from_numpy(outside).float()


BOXES = [  # (top, left, height, width) in pixels
    (0, 0, H, W),  # the whole image: identity
    (4, 10, 20, 60),
    (10, 37, 9, 23),  # ~6% of the area: 4x upscaling
    (0, 50, H, 50),
    (3, 0, 28, W),
    (5, 12, 16, 30),
    (0, 0, 12, 40),  # at the top-left corner: torchvision's edge replication is the image's
]


@pytest.mark.parametrize("box", BOXES, ids=[f"{t},{l},{h}x{w}" for t, l, h, w in BOXES])
def test_random_resized_crop_is_resized_crop(run, words, box):
    top, left, h, w = box
    got = run(
        "random_resized_crop",
        random_resized_crop={"x0": left / W, "y0": top / H, "w": w / W, "h": h / H},
    )
    # torchvision's default: bilinear, antialias (a no-op when upscaling, which a crop always is)
    ref = TF.resized_crop(words, top, left, h, w, [H, W], interpolation=T.InterpolationMode.BILINEAR, antialias=True)
    if box != (0, 0, H, W):
        changed(words, ref)
    inside, outside = _box_weights(top, left, h, w)
    diff = (got - ref).abs()[:, 0]
    # Every output pixel whose source point lies in the box: torchvision's resize (half-pixel
    # centres, bilinear) at the same coordinates (measured: <= 6e-6).
    assert diff[:, inside].max() <= GRID
    # The outermost output pixels (about 0.5 / scale of them a side: source point less than half a
    # pixel outside the box) blend in the image's pixel beyond the box with the weight computed
    # above, where torchvision replicates the box's edge: the difference is that weight times a
    # pixel difference, hence at most the weight. Where the box touches the image border the
    # two agree (grid_sample replicates the image's edge). Measured on these words: up to 0.26 on
    # single pixels of the 9x23 box, 1.3 / 255 on average over its image (0.25 / 255 for 20x60).
    assert (diff - outside).max() <= GRID
    assert diff.mean() <= 1.5 / 255


def test_sampled_crop_boxes_are_whole_pixels_inside_the_image():
    """What the sampler draws (fractions) is cropped as torchvision's RandomResizedCrop crops:
    a box of whole pixels, at least one, inside the image."""
    p = sample_params(512, simclr_spec(), torch.Generator().manual_seed(0))
    m = O.resized_crop_matrix(*(p.values["random_resized_crop"][k] for k in ("x0", "y0", "w", "h")), H, W)
    w, h = m[:, 0, 0] * W, m[:, 1, 1] * H  # box size in pixels
    left, top = m[:, 0, 2] + 0.5 - 0.5 * m[:, 0, 0], m[:, 1, 2] + 0.5 - 0.5 * m[:, 1, 1]
    for v in (w, h, left, top):
        assert np.allclose(v, np.round(v), atol=1e-9)
    assert (w >= 1).all() and (h >= 1).all() and (left >= 0).all() and (top >= 0).all()
    assert (left + w <= W + 1e-9).all() and (top + h <= H + 1e-9).all()
    area = w * h / (W * H)
    assert area.min() < 0.2 and area.max() > 0.8  # SimCLR's 8-100% of the area


# ---------------------------------------------------------------- the whole SimCLR chain


def test_simclr_chain_is_torchvisions(run, words):
    """crop -> flip -> jitter -> blur, SimCLR's order (as torchvision's Compose applies them), at
    one set of parameters per image."""
    boxes = [(4, 10, 20, 60), (0, 0, H, W), (5, 12, 16, 30), (0, 0, 12, 40)]
    bright, contrast, sigma = [0.7, 1.5, 1.2, 0.4], [1.6, 0.6, 1.0, 1.3], [0.3, 1.2, 2.0, 0.8]
    t, l, h, w = (torch.tensor([b[i] for b in boxes], dtype=torch.float32) for i in range(4))
    got = run(
        ["random_resized_crop", "flip", "color_jitter", "blur"],
        random_resized_crop={"x0": l / W, "y0": t / H, "w": w / W, "h": h / H},
        color_jitter={"brightness": bright, "contrast": contrast},
        blur={"sigma": sigma},
    )
    k = O.gaussian_kernel_size(max(sigma))
    ref = []
    for im, (bt, bl, bh, bw), b, c, s in zip(words, boxes, bright, contrast, sigma):
        v = TF.horizontal_flip(TF.resized_crop(im, bt, bl, bh, bw, [H, W], antialias=True))
        ref.append(TF.gaussian_blur(TF.adjust_contrast(TF.adjust_brightness(v, b), c), [k, k], [s, s]))
    ref = torch.stack(ref)
    changed(words, ref)
    diff = (got - ref).abs()[:, 0]
    r = k // 2
    for i, box in enumerate(boxes):
        inside, _ = _box_weights(*box)
        inside = inside.flip(-1).float()[None, None]  # flipped like the view
        # Away from the crop's outer pixels by the blur's radius, the chain is torchvision's but for
        # the contrast blend's mean gray of the whole view, which those outer pixels (mean
        # difference <= 1.5 / 255 above, times the brightness b) move: by at most
        # |1 - c| b 1.5 / 255 (measured: <= 0.009 / 255, their differences mostly cancel).
        core = torch.nn.functional.max_pool2d(1 - inside, 2 * r + 1, 1, r)[0, 0] == 0
        tol = abs(1 - contrast[i]) * bright[i] * 1.5 / 255 + GRID
        assert diff[i][core].max() <= tol, (box, float(diff[i][core].max()))
    assert diff.mean() <= 1.5 / 255  # measured: 0.19 / 255
