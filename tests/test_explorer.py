"""The explorer's callbacks and figures, without a kernel; and the notebook run headless."""

from __future__ import annotations

import numpy as np
import pytest

from seqclr.explorer import ExplorerParams, ExplorerState
from seqclr.explorer.views import augment_views, counter_examples_figure, frame_edges, only
from seqclr.augment.pipeline import apply, from_uint8, sample_params, to_uint8


@pytest.fixture(scope="module")
def state():
    return ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=1))


def test_frame_edges_cover_the_width():
    e = frame_edges(100, 26)
    assert len(e) == 27 and e[0] == 0 and e[-1] == 100
    assert np.allclose(np.diff(e), 100 / 26)


def test_state_loads_preprocessed_images(state):
    assert state.images.shape == (2, 32, 100) and state.images.dtype == np.uint8
    assert len(state.labels) == 2 and all(state.labels)
    # word images: dark ink on light paper somewhere in each
    assert (state.images.min(axis=(1, 2)) < state.images.max(axis=(1, 2))).all()


def test_toggle_changes_views_and_is_reversible():
    s = ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=2, preset="seqclr"))
    before = s.columns()["torch"][0].copy()
    for op in [o.name for o in s.spec.enabled_ops]:
        s.set_enabled(op, False)
    assert not s.spec.enabled_ops
    off = s.columns()["torch"][0]
    np.testing.assert_array_equal(off, s.images)  # nothing enabled: the views are the originals
    assert "pipeline" in s.notes
    assert not np.array_equal(before, off)


def test_range_change_reaches_the_pipeline_and_bad_range_is_reported():
    s = ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=0, disable_ops=[]))
    for op in [o.name for o in s.spec.enabled_ops if o.name != "linear_contrast"]:
        s.set_enabled(op, False)
    s.set_range("linear_contrast", "alpha", 0.0, 0.0)  # alpha 0: every pixel becomes 127
    a, _ = s.columns()["torch"]
    assert np.abs(a.astype(int) - 127).max() <= 1
    spec_before = s.spec
    s.set_range("linear_contrast", "alpha", 0.9, 0.5)  # low > high: refused, reported
    assert s.spec is spec_before and "not applied" in s.message and "alpha" in s.message


def test_source_change_reloads(state):
    s = ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=4))
    hand = s.images.copy()
    s.set_source("synthetic-print")
    assert s.params.source == "synthetic-print"
    assert not np.array_equal(hand, s.images)


def test_counter_examples_flip_reverses_columns(state):
    x = from_uint8(state.images)
    flipped = to_uint8(apply(x, sample_params(len(x), only("flip"))))
    np.testing.assert_array_equal(flipped, state.images[:, :, ::-1])
    fig = counter_examples_figure(state.images, state.labels, frames=26)
    assert len(fig.axes) == 2 * 4


def test_imgaug_backend_views_differ_from_original(state):
    pytest.importorskip("imgaug")
    a, b = augment_views(state.images, ExplorerState(ExplorerParams(n_samples=2)).spec, seed=0, backend="imgaug")
    assert a.shape == state.images.shape and a.dtype == np.uint8
    assert not np.array_equal(a, b)


def test_widget_callbacks_refresh_the_image():
    pytest.importorskip("ipywidgets")
    from seqclr.explorer.widgets import build_ui

    ui = build_ui(ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=5)))
    first = ui.image.value
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    ui.toggles["flip"].value = True
    assert ui.state.spec["flip"].enabled and ui.image.value != first
    second = ui.image.value
    ui.sliders[("blur", "sigma")].value = (2.0, 2.5)
    assert ui.state.spec["blur"].params["sigma"] == (2.0, 2.5) and ui.image.value != second
    ui.source.value = "synthetic-print"
    assert ui.state.params.source == "synthetic-print"
    renders = ui.state.renders
    ui.sliders[("crop_vertical", "top")].value = (0.0, 0.49)
    ui.sliders[("crop_vertical", "bottom")].value = (0.0, 0.49)  # 0.49 + 0.49 < 1: valid
    assert ui.state.renders == renders + 2 and ui.state.message == ""
