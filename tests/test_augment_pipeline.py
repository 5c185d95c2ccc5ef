"""The batched torch pipeline: batching, subsets, seeding, devices, no imgaug, sequence order."""

import ast
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from seqclr.augment import (
    BatchAugment,
    Params,
    SeqCLRAugment,
    apply,
    fixed_params,
    from_uint8,
    index_params,
    sample_params,
    seqclr_spec,
    to_uint8,
)
from seqclr.augment import batched, fused
from seqclr.augment.spec import AugmentSpec, OpSpec

H, W = 32, 100


def _words_like(n: int, seed: int = 0) -> torch.Tensor:
    """White images with dark random strokes (cheap stand-in with real edges)."""
    g = torch.Generator().manual_seed(seed)
    x = torch.ones(n, 1, H, W)
    for _ in range(12):
        y0 = torch.randint(4, H - 8, (n,), generator=g)
        x0 = torch.randint(0, W - 10, (n,), generator=g)
        for i in range(n):
            x[i, 0, y0[i] : y0[i] + 6, x0[i] : x0[i] + 3] = 0.1
    return x


@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_mixed_batch_equals_per_image_application(backend):
    """Every image of a batch with different ops, orders and parameters gets exactly
    what it would get alone."""
    x = _words_like(12)
    spec = seqclr_spec().replace("flip", enabled=True).replace("crop_aggressive", enabled=True)
    params = sample_params(12, spec, torch.Generator().manual_seed(3))
    assert params.active.sum(1).unique().numel() > 2  # really mixed subsets
    batch = apply(x, params, backend=backend)
    for i in range(12):
        alone = apply(x[i : i + 1], index_params(params, [i]), backend=backend)
        torch.testing.assert_close(batch[i : i + 1], alone, atol=1e-5, rtol=0)


@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_inactive_ops_change_nothing(backend):
    """An image gets the same output whether its inactive ops are in the params or not."""
    x = _words_like(10)
    params = sample_params(10, seqclr_spec(), torch.Generator().manual_seed(5))
    batch = apply(x, params, backend=backend)
    for i in range(10):
        act = params.active[i]
        cols = sorted((k for k in range(len(params.ops)) if act[k]), key=lambda k: int(params.order[i, k]))
        ops = tuple(params.ops[k] for k in cols)
        only = Params(
            ops,
            torch.ones(1, len(cols), dtype=torch.bool),
            torch.arange(len(cols)).view(1, -1),
            {op: {key: v[i : i + 1] for key, v in vals.items()} for op, vals in params.values.items() if op in ops},
        )
        torch.testing.assert_close(batch[i : i + 1], apply(x[i : i + 1], only, backend=backend), atol=1e-5, rtol=0)


@pytest.mark.parametrize("dtype, channels", [(torch.float32, 1), (torch.float64, 1), (torch.float32, 3)])
@pytest.mark.parametrize("preset", ["seqclr", "light", "simclr"])
def test_shape_dtype_device_preserved(preset, dtype, channels):
    x = _words_like(5).to(dtype).repeat(1, channels, 1, 1)
    y = BatchAugment(preset)(x, torch.Generator().manual_seed(0))
    assert y.shape == x.shape and y.dtype == dtype and y.device == x.device
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    assert not torch.equal(y, x)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda_like_on_cpu():
    x = _words_like(6)
    params = sample_params(6, "seqclr", torch.Generator().manual_seed(1))
    y_cpu = apply(x, params)
    y_gpu = apply(x.cuda(), params)
    assert y_gpu.device.type == "cuda"
    torch.testing.assert_close(y_gpu.cpu(), y_cpu, atol=2e-3, rtol=0)


def test_random_subsets_non_empty_uniform_size_and_permutation_order():
    n = 3000
    p = sample_params(n, seqclr_spec(), torch.Generator().manual_seed(0))
    k = len(p.ops)
    assert k == 7 and "flip" not in p.ops
    sizes = p.active.sum(1)
    assert bool((sizes >= 1).all())
    # imgaug SomeOf((1, None)): subset size uniform in 1..k
    freq = torch.bincount(sizes, minlength=k + 1)[1:].float() / n
    assert bool((freq > 0.10).all()) and bool((freq < 0.19).all())
    # random order: each row is a permutation, and every op is sometimes first
    assert bool((p.order.sort(1).values == torch.arange(k)).all())
    first = p.order.argmin(1)
    assert first.unique().numel() == k


def test_sequential_spec_uses_probabilities():
    spec = AugmentSpec((OpSpec("flip", p=0.25), OpSpec("blur", params={"sigma": (0.5, 1.0)})), composition="sequential")
    p = sample_params(4000, spec, torch.Generator().manual_seed(0))
    assert abs(p.active[:, 0].float().mean().item() - 0.25) < 0.03
    assert bool(p.active[:, 1].all())


def test_generator_seeding_reproducible():
    x = _words_like(8)
    aug = BatchAugment("seqclr")
    a = aug(x, torch.Generator().manual_seed(7))
    b = aug(x, torch.Generator().manual_seed(7))
    c = aug(x, torch.Generator().manual_seed(8))
    assert torch.equal(a, b)
    assert not torch.equal(a, c)
    va, vb = aug.two_views(x, torch.Generator().manual_seed(7))
    assert not torch.equal(va, vb)  # two independent views


def test_seqclr_augment_is_a_deprecated_alias_of_batch_augment():
    """The former name still works for one release: the same class, with a warning naming the new one."""
    x = _words_like(3)
    with pytest.warns(DeprecationWarning, match="BatchAugment"):
        old = SeqCLRAugment("simclr", backend="torch")
    assert isinstance(old, BatchAugment) and old.spec == BatchAugment("simclr").spec and old.backend == "torch"
    g = torch.Generator().manual_seed(1)
    torch.testing.assert_close(old(x, g), BatchAugment("simclr", backend="torch")(x, torch.Generator().manual_seed(1)))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        BatchAugment("light")  # the new name does not warn


@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_order_matters_and_is_followed(backend):
    """Sharpen's kernel does not sum to 1, so contrast-then-sharpen differs from
    sharpen-then-contrast; the per-image order in params decides."""
    x = _words_like(2)
    vals = dict(linear_contrast={"alpha": 0.5}, sharpen={"alpha": 0.5, "lightness": 0.0})
    p1 = fixed_params(2, ["linear_contrast", "sharpen"], **vals)
    p2 = fixed_params(2, ["linear_contrast", "sharpen"], **vals)
    p2 = p2.replace(order=p2.order.flip(1))
    from seqclr.augment import ops as O

    a = torch.full((2,), 0.5)
    expect1 = O.sharpen(O.linear_contrast(x, a), a, torch.zeros(2))
    expect2 = O.linear_contrast(O.sharpen(x, a, torch.zeros(2)), a)
    torch.testing.assert_close(apply(x, p1, backend=backend), expect1)
    torch.testing.assert_close(apply(x, p2, backend=backend), expect2)
    assert (expect1 - expect2).abs().max() > 0.1


@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_geometric_ops_fused_in_order(backend):
    """Crop then flip == flip then crop mirrored: the composed maps follow the order."""
    x = _words_like(1)
    vals = dict(crop_horizontal={"left": 0.0, "right": 0.3})
    crop_then_flip = fixed_params(1, ["crop_horizontal", "flip"], **vals)
    flip_then_crop = fixed_params(1, ["crop_horizontal", "flip"], **vals)
    flip_then_crop = flip_then_crop.replace(order=flip_then_crop.order.flip(1))
    a = apply(x, crop_then_flip, backend=backend)
    b = apply(x, flip_then_crop, backend=backend)
    keep_left = apply(x, fixed_params(1, ["crop_horizontal"], **vals), backend=backend)
    # the two come through different float32 grids (flip composed in, or applied after):
    # 1e-4 of the [0, 1] range is 0.03 gray levels
    torch.testing.assert_close(a, keep_left.flip(-1), atol=1e-4, rtol=0)
    assert (a - b).abs().mean() > 0.01


def _ramp(n: int) -> torch.Tensor:
    """Column markers: intensity grows left to right (0.1 -> 0.9) on every row."""
    return torch.linspace(0.1, 0.9, W).expand(n, 1, H, W).clone()


def _column_corr(y: torch.Tensor) -> torch.Tensor:
    prof = y.mean(dim=(1, 2))  # (N, W)
    prof = prof - prof.mean(1, keepdim=True)
    xs = torch.arange(W, dtype=torch.float32) - (W - 1) / 2
    return (prof * xs).sum(1) / (prof.norm(dim=1) * xs.norm() + 1e-8)


def test_sequence_order_preserved_by_seqclr_but_not_by_flip():
    x = _ramp(200)
    g = torch.Generator().manual_seed(0)
    y = BatchAugment("seqclr")(x, g)
    assert bool((_column_corr(y) > 0.9).all())
    spec = seqclr_spec().replace("flip", enabled=True)
    p = sample_params(200, spec, g)
    corr = _column_corr(apply(x, p))
    flipped = p.active[:, p.ops.index("flip")]
    assert 20 < int(flipped.sum()) < 180
    assert bool((corr[flipped] < -0.9).all())
    assert bool((corr[~flipped] > 0.9).all())


def test_uint8_round_trip():
    imgs = (np.arange(2 * H * W) % 256).astype(np.uint8).reshape(2, H, W)
    t = from_uint8(imgs)
    assert t.shape == (2, 1, H, W) and t.dtype == torch.float32
    assert np.array_equal(to_uint8(t), imgs)
    with pytest.raises(ValueError, match="uint8"):
        from_uint8(imgs.astype(np.float32))


def test_torch_pipeline_runs_without_imgaug():
    code = textwrap.dedent(
        """
        import sys
        sys.modules["imgaug"] = None
        import torch
        from seqclr.augment import BatchAugment
        for name in ("seqclr", "light", "simclr"):
            y = BatchAugment(name)(torch.rand(4, 1, 32, 100), torch.Generator().manual_seed(0))
            assert y.shape == (4, 1, 32, 100)
        assert sys.modules["imgaug"] is None
        assert "cv2" not in sys.modules and "skimage" not in sys.modules
        from seqclr.augment.reference import import_imgaug
        try:
            import_imgaug()
        except ImportError as e:
            assert "pip install seqclr[reference]" in str(e), e
        else:
            raise AssertionError("import_imgaug should fail without imgaug")
        print("ok")
        """
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == "ok"


def test_reference_pipeline_from_spec():
    pytest.importorskip("imgaug")
    from seqclr.augment.reference import augment_numpy, build_imgaug

    aug = build_imgaug("seqclr")
    assert type(aug).__name__ == "SomeOf" and len(aug) == 7
    assert [type(c).__name__ for c in aug] == [
        "LinearContrast",
        "GaussianBlur",
        "Crop",
        "Crop",
        "Sharpen",
        "PiecewiseAffine",
        "PerspectiveTransform",
    ]
    imgs = to_uint8(_words_like(3))
    a = augment_numpy(imgs, "seqclr", seed=1)
    b = augment_numpy(imgs, "seqclr", seed=1)
    assert a.shape == imgs.shape and a.dtype == np.uint8
    assert np.array_equal(a, b) and not np.array_equal(a, imgs)
    sim = augment_numpy(imgs, "simclr", seed=2)
    assert sim.shape == imgs.shape


def _grid_oracle(before, after, disp, nb_r, nb_c, h, w):
    """geometric_grid's map evaluated pixel by pixel in float64: B(A(u) + d(A'(u)))."""
    out = np.zeros((len(before), h, w, 2))
    for i in range(len(before)):
        b, a = before[i], after[i]
        for y in range(h):
            for x in range(w):
                q = a @ [x, y, 1.0]
                q = q[:2] / q[2]
                # d at the axis-aligned part of A, hat weights on linspace(0, size, nb)
                ty = np.clip((a[1, 1] * y + a[1, 2]) * (nb_r[i] - 1) / h, 0, nb_r[i] - 1)
                tx = np.clip((a[0, 0] * x + a[0, 2]) * (nb_c[i] - 1) / w, 0, nb_c[i] - 1)
                wy = np.maximum(0, 1 - np.abs(ty - np.arange(disp.shape[1])))
                wx = np.maximum(0, 1 - np.abs(tx - np.arange(disp.shape[2])))
                dy, dx = np.einsum("r,c,rck->k", wy, wx, disp[i])
                s = b @ [q[0] + dx, q[1] + dy, 1.0]
                out[i, y, x] = [(2 * s[0] / s[2] + 1) / w - 1, (2 * s[1] / s[2] + 1) / h - 1]
    return out


def test_fused_grid_equals_pixelwise_composition():
    """The separable one-matmul grid equals the map composed pixel by pixel, with
    projective maps both before and after the piecewise affine and 2-4 control rows."""
    from seqclr.augment import ops as O

    h, w, n = 8, 12, 4
    rng = np.random.RandomState(0)
    j = np.abs(rng.normal(0, 0.04, (n, 4, 2)))
    corners = j.copy()
    corners[:, 1, 0], corners[:, 2, :], corners[:, 3, 1] = 1 - j[:, 1, 0], 1 - j[:, 2, :], 1 - j[:, 3, 1]
    persp = O.perspective_matrix(corners, h, w)
    crop = O.crop_matrix(rng.uniform(0, 0.3, n), rng.uniform(0, 0.3, n), np.zeros(n), rng.uniform(0, 0.1, n), h, w)
    before = persp @ crop
    after = crop @ persp[::-1]  # projective after: the w_A terms are exercised
    nb_r, nb_c = np.array([2, 3, 4, 4]), np.array([4, 2, 3, 4])
    disp = O.piecewise_displacement(rng.normal(0, 0.05, (n, 4, 4, 2)), nb_r, nb_c, h, w)
    got = O.geometric_grid(h, w, before, after, (disp, nb_r, nb_c)).double().numpy()
    want = _grid_oracle(before, after, disp, nb_r, nb_c, h, w)
    eye = np.tile(np.eye(3), (n, 1, 1))
    assert np.abs(want - _grid_oracle(before, eye, disp, nb_r, nb_c, h, w)).max() > 0.01  # A matters
    np.testing.assert_allclose(got, want, atol=2e-5)  # float32 coordinates in [-1, 1]
    no_pw = O.geometric_grid(h, w, before).double().numpy()
    np.testing.assert_allclose(no_pw, _grid_oracle(before, eye, 0 * disp, nb_r, nb_c, h, w), atol=2e-5)


def _sequential_reference(x, p):
    """Each image alone, its active photometric ops one after the other in its order,
    with the plain per-op functions (shifted formulas, not the merged convolutions)."""
    from seqclr.augment import ops as O

    out = []
    v = p.values
    ksize = O.gaussian_kernel_size(float(v["blur"]["sigma"].max()))
    for i in range(x.shape[0]):
        y = x[i : i + 1]
        cols = [k for k in range(len(p.ops)) if p.active[i, k]]
        for k in sorted(cols, key=lambda k: int(p.order[i, k])):
            name = p.ops[k]
            if name == "linear_contrast":
                y = O.linear_contrast(y, v["linear_contrast"]["alpha"][i : i + 1])
            elif name == "blur":
                y = O.gaussian_blur(y, v["blur"]["sigma"][i : i + 1], ksize)
            else:
                y = O.sharpen(y, v["sharpen"]["alpha"][i : i + 1], v["sharpen"]["lightness"][i : i + 1])
        out.append(y)
    return torch.cat(out)


@pytest.mark.parametrize("sigma", [(0.5, 1.0), (0.5, 2.5)])  # 5-tap blur, and 9 taps with 3x3 sharpen inside
@pytest.mark.parametrize("backend", ["torch", "fused"])
def test_merged_position_filters_equal_sequential_ops(sigma, backend):
    """apply runs all linear filters of one position as one depthwise convolution
    (contrast as a centre tap + bias, sharpen zero-padded to blur's size): the result
    is each image's ops applied one by one in its own order."""
    spec = AugmentSpec(
        ops=(
            OpSpec("linear_contrast", params={"alpha": (0.5, 1.0)}),
            OpSpec("blur", params={"sigma": sigma}),
            OpSpec("sharpen", params={"alpha": (0.2, 0.5), "lightness": (0.0, 0.5)}),
        )
    )
    x = _words_like(24)
    p = sample_params(24, spec, torch.Generator().manual_seed(7))
    assert len({tuple(p.order[i][p.active[i]].tolist()) for i in range(24)}) > 5  # mixed orders
    torch.testing.assert_close(apply(x, p, backend=backend), _sequential_reference(x, p), atol=2e-5, rtol=0)


def _seqclr_imports(module) -> set[str]:
    """The seqclr modules a module's source imports (anywhere in it, "from seqclr.augment import ops" as
    seqclr.augment.ops)."""
    out = set()
    for node in ast.walk(ast.parse(Path(module.__file__).read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("seqclr"):
            out |= {f"{node.module}.{a.name}" if node.module == "seqclr.augment" else node.module for a in node.names}
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("seqclr")}
    return out


def test_executors_share_the_plan_and_do_not_import_each_other():
    """Both executors (torch ops, fused kernel) start from seqclr.augment.plan (parameters, stage
    plan, geometric maps) and the op library; neither imports the other (pipeline.apply picks one)."""
    for executor in (batched, fused):
        assert _seqclr_imports(executor) == {"seqclr.augment.plan", "seqclr.augment.ops"}, executor.__name__
