"""Eq. (1) loss, dense and streaming, against a literal per-instance reference (float64)."""

import pytest
import torch

from seqclr.contrastive import seqclr_nce_loss


def naive_eq1(za, zb, tau):
    """Eq. (1) written literally: both directions, denominators over U minus the anchor."""
    m = za.size(0)
    u = [za[r] for r in range(m)] + [zb[r] for r in range(m)]

    def sim(a, b):
        return (a @ b) / (a.norm() * b.norm())

    def l_nce(a, b):
        num = torch.exp(sim(u[a], u[b]) / tau)
        den = sum(torch.exp(sim(u[a], u[k]) / tau) for k in range(2 * m) if k != a)
        return -torch.log(num / den)

    return sum(l_nce(r, m + r) for r in range(m)) + sum(l_nce(m + r, r) for r in range(m))


def _pair(m, f=5, seed=0):
    g = torch.Generator().manual_seed(seed)
    za = torch.randn(m, f, generator=g, dtype=torch.float64) * 3
    zb = za + torch.randn(m, f, generator=g, dtype=torch.float64)
    return za.requires_grad_(), zb.requires_grad_()


@pytest.mark.parametrize("m", [1, 2, 3, 7])
@pytest.mark.parametrize("chunk_size", [None, 1, 3, 5, 64])
@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_matches_naive_reference_values_and_grads(m, chunk_size, reduction):
    tau = 0.3
    za, zb = _pair(m, seed=m)
    ref = naive_eq1(za, zb, tau)
    if reduction == "mean":
        ref = ref / (2 * m)
    ga_ref, gb_ref = torch.autograd.grad(ref, (za, zb))
    loss = seqclr_nce_loss(za, zb, tau=tau, reduction=reduction, chunk_size=chunk_size)
    ga, gb = torch.autograd.grad(loss, (za, zb))
    torch.testing.assert_close(loss, ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(ga, ga_ref, rtol=1e-9, atol=1e-10)
    torch.testing.assert_close(gb, gb_ref, rtol=1e-9, atol=1e-10)


def test_streaming_equals_dense_larger_float32():
    g = torch.Generator().manual_seed(1)
    za = torch.randn(53, 16, generator=g).requires_grad_()
    zb = (za.detach() + 0.5 * torch.randn(53, 16, generator=g)).requires_grad_()
    dense = seqclr_nce_loss(za, zb)
    grads_dense = torch.autograd.grad(dense, (za, zb))
    stream = seqclr_nce_loss(za, zb, chunk_size=17)  # 17 does not divide 106
    grads_stream = torch.autograd.grad(stream, (za, zb))
    torch.testing.assert_close(stream, dense)
    for a, b in zip(grads_stream, grads_dense):
        torch.testing.assert_close(a, b)


def test_positive_pairs_lower_the_loss():
    za, zb = _pair(6)
    aligned = seqclr_nce_loss(za, zb)
    shuffled = seqclr_nce_loss(za, zb.flip(0))
    assert aligned < shuffled


def test_errors():
    za, zb = _pair(3)
    with pytest.raises(ValueError, match="equal shapes"):
        seqclr_nce_loss(za, zb[:2])
    with pytest.raises(ValueError, match="tau"):
        seqclr_nce_loss(za, zb, tau=0)
    with pytest.raises(ValueError, match="reduction"):
        seqclr_nce_loss(za, zb, reduction="none")
    with pytest.raises(ValueError, match="chunk_size"):
        seqclr_nce_loss(za, zb, chunk_size=0)
