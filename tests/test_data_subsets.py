import numpy as np
import pytest

from seqclr.data.subsets import labeled_subset


def test_deterministic_sorted_and_sized():
    a = labeled_subset(1000, 0.1, seed=3)
    b = labeled_subset(1000, 0.1, seed=3)
    assert np.array_equal(a, b)
    assert len(a) == 100 and np.all(np.diff(a) > 0) and a.min() >= 0 and a.max() < 1000
    assert not np.array_equal(a, labeled_subset(1000, 0.1, seed=4))


def test_nested_for_same_seed():
    for seed in range(3):
        small = set(labeled_subset(997, 0.05, seed).tolist())
        big = set(labeled_subset(997, 0.10, seed).tolist())
        assert small < big
    assert np.array_equal(labeled_subset(50, 1.0, 0), np.arange(50))


def test_at_least_one_item():
    assert len(labeled_subset(10, 0.01, 0)) == 1


@pytest.mark.parametrize("n,fraction,seed", [(0, 0.1, 0), (10, 0.0, 0), (10, 1.5, 0), (10, -0.1, 0), (10, 0.5, -1), (10.5, 0.5, 0), (10, True, 0)])
def test_validation(n, fraction, seed):
    with pytest.raises(ValueError):
        labeled_subset(n, fraction, seed)
