"""The fused CPU kernel computes what the batched torch ops compute.

Tolerance 1e-4 (on [0, 1], i.e. 0.03 gray levels): both run in float32 but build the
source coordinates differently (torch: a normalised grid from a matrix product, then
grid_sample's un-normalisation; the kernel: pixel coordinates directly) and the blur as
one 2-D kernel against two 1-D passes. A wrong op, order, parameter or border moves
pixels by far more (hundredths to tenths).
"""

import numpy as np
import pytest
import torch

from seqclr.augment import BatchAugment, apply, fixed_params, sample_params, seqclr_spec
from seqclr.augment import fused
from seqclr.augment.pipeline import resolve_backend
from seqclr.augment.plan import plan_stages
from seqclr.augment.spec import AugmentSpec, OpSpec

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba not importable")
H, W = 32, 100
ATOL = 1e-4


def _strokes(n: int, channels: int = 1, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = 0.9 + 0.1 * torch.rand(n, channels, H, W, generator=g)
    for _ in range(10):
        y0 = torch.randint(2, H - 8, (n,), generator=g)
        x0 = torch.randint(0, W - 6, (n,), generator=g)
        for i in range(n):
            x[i, :, y0[i] : y0[i] + 7, x0[i] : x0[i] + 3] = 0.15
    return x


def _both(x, params):
    return apply(x, params, backend="torch"), apply(x, params, backend="fused")


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("preset", ["seqclr", "light", "simclr", "all"])
def test_fused_equals_torch_on_sampled_batches(preset, channels):
    """Random subsets, orders and parameters of every op (``all``: SeqCLR plus flip and
    the aggressive crop, so projective maps meet flips and the piecewise affine)."""
    spec = preset
    if preset == "all":
        spec = seqclr_spec().replace("flip", enabled=True).replace("crop_aggressive", enabled=True)
    x = _strokes(40, channels)
    params = sample_params(40, spec, torch.Generator().manual_seed(11))
    a, b = _both(x, params)
    assert (a - x).abs().mean() > 0.01  # the batch was really augmented
    torch.testing.assert_close(b, a, atol=ATOL, rtol=0)


@pytest.mark.parametrize(
    "ops, values",
    [
        (["blur"], {"blur": {"sigma": [0.3, 1.0, 2.5, 0.0]}}),  # 9 taps for the batch, sigma 0 = identity
        (["sharpen"], {"sharpen": {"alpha": 0.8, "lightness": 1.3}}),
        (["linear_contrast", "color_jitter"], {"linear_contrast": {"alpha": 0.6},
                                               "color_jitter": {"brightness": 1.4, "contrast": 0.5}}),  # fmt: skip
        (["perspective", "piecewise_affine", "crop_vertical"], None),  # projective map before the field
        (["crop_horizontal", "piecewise_affine", "perspective"], None),  # projective map after it
        (["piecewise_affine", "blur", "flip"], None),  # a filter between geometric ops: the warp comes first
    ],
)
def test_fused_equals_torch_on_fixed_ops(ops, values):
    n = 4
    rng = np.random.default_rng(0)
    if values is None:
        corners = np.array([[0.02, 0.01], [0.97, 0.03], [0.99, 0.98], [0.01, 0.96]])
        values = {
            "perspective": {"corners": corners},
            "piecewise_affine": {
                "offsets": torch.tensor(rng.normal(0, 0.03, (n, 4, 4, 2)), dtype=torch.float32),
                "nb_rows": [2, 3, 4, 4],
                "nb_cols": [4, 2, 3, 4],
            },
            "crop_vertical": {"top": 0.2, "bottom": 0.1},
            "crop_horizontal": {"left": 0.02, "right": 0.01},
            "blur": {"sigma": 0.8},
        }
        values = {op: v for op, v in values.items() if op in ops}
    x = _strokes(n)
    a, b = _both(x, fixed_params(n, ops, **values))
    assert (a - x).abs().mean() > 1e-3
    torch.testing.assert_close(b, a, atol=ATOL, rtol=0)


def test_threads_split_the_batch_without_changing_it():
    x = _strokes(37)
    params = sample_params(37, "seqclr", torch.Generator().manual_seed(2))
    stages, seq = plan_stages(params)
    one = fused.apply_fused(x, params, stages, seq, threads=1)
    three = fused.apply_fused(x, params, stages, seq, threads=3)
    assert torch.equal(one, three)


def test_images_without_ops_are_copied():
    """A sequential spec with probabilities leaves some images untouched: bit-exact copies."""
    spec = AugmentSpec(ops=(OpSpec("blur", p=0.5, params={"sigma": (0.5, 1.0)}),), composition="sequential")
    x = _strokes(16)
    params = sample_params(16, spec, torch.Generator().manual_seed(0))
    idle = ~params.active[:, 0]
    assert 0 < int(idle.sum()) < 16
    y = apply(x, params, backend="fused")
    assert torch.equal(y[idle], x[idle])
    assert not torch.equal(y[~idle], x[~idle])


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_degenerate_map_stays_inside_the_image():
    """A perspective quad collapsed to a point gives an infinite/NaN map: the kernel
    clamps every tap into the image (no out-of-bounds read) and returns image values."""
    corners = np.full((4, 2), 0.5)
    x = _strokes(3)
    y = apply(x, fixed_params(3, ["perspective"], perspective={"corners": corners}), backend="fused")
    assert torch.isfinite(y).all()
    assert float(y.min()) >= float(x.min()) and float(y.max()) <= float(x.max())


def test_backend_choice_and_errors():
    x = _strokes(2)
    assert resolve_backend(x) == "fused"
    assert resolve_backend(x.double()) == "torch"
    assert resolve_backend(x.clone().requires_grad_()) == "torch"
    assert resolve_backend(x, "torch") == "torch"
    with pytest.raises(ValueError, match="dtype=torch.float64"):
        resolve_backend(x.double(), "fused")
    with pytest.raises(ValueError, match="'cuda-fast'"):
        apply(x, fixed_params(2, ["blur"], blur={"sigma": 0.5}), backend="cuda-fast")
    with pytest.raises(ValueError, match="'numba'"):
        BatchAugment("seqclr", backend="numba")
    with pytest.raises(ValueError, match="9-tap kernel, too large for 4x6"):
        apply(torch.rand(2, 1, 4, 6), fixed_params(2, ["blur"], blur={"sigma": 3.0}), backend="fused")


def test_gradient_input_takes_the_torch_path():
    x = _strokes(2).requires_grad_()
    y = apply(x, fixed_params(2, ["blur", "crop_vertical"], blur={"sigma": 0.7}, crop_vertical={"top": 0.1, "bottom": 0.0}))
    y.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def _augment_in_child(args):
    x, params, stages, seq = args
    # numpy back, not a tensor (torch would share its storage through a file descriptor)
    return fused.apply_fused(x, params, stages, seq, threads=2).numpy()


@pytest.mark.timeout(60)
def test_forked_worker_gets_its_own_thread_pool():
    """A DataLoader worker forked after the parent ran the kernel on two threads must not
    wait on the parent's pool threads (they do not exist in the child): it makes its own,
    and computes the same images."""
    import multiprocessing as mp

    x = _strokes(8)
    params = sample_params(8, "seqclr", torch.Generator().manual_seed(4))
    stages, seq = plan_stages(params)
    parent = fused.apply_fused(x, params, stages, seq, threads=2)
    with mp.get_context("fork").Pool(1) as pool:
        child = pool.map(_augment_in_child, [(x, params, stages, seq)])[0]
    assert np.array_equal(child, parent.numpy())
