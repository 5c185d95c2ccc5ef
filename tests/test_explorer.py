"""The explorer's callbacks and figures, without a kernel; and the notebook run headless."""

from __future__ import annotations

import numpy as np
import pytest

from seqclr.explorer import ExplorerParams, ExplorerState
from seqclr.explorer.views import augment_views, counter_examples_figure, frame_edges, only
from seqclr.augment.pipeline import apply, from_uint8, to_uint8
from seqclr.augment.plan import sample_params


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
    s = ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=2, augmentation="seqclr"))
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


# ---------------------------------------------------------------- large views, more samples, save spec


def test_views_are_drawn_large_and_measured_from_their_frame_grid():
    """Each word view is ~300 px wide in the PNG (the old figure drew ~200 px, shown at ~100 px
    beside the controls); the frame-grid measurement the browser test uses agrees with
    matplotlib's own axes sizes."""
    import io

    from PIL import Image

    from seqclr.plots import figure_png
    from tests.browser.views_layout import measure_views

    s = ExplorerState(ExplorerParams(n_samples=3, backends=["torch"], seed=1))
    fig = s.views_figure()
    png = figure_png(fig, dpi=100, tight=False)
    widths = [ax.get_window_extent().width for ax in fig.axes]
    assert min(widths) >= 250, widths
    m = measure_views(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")))
    assert m["rows"] == 3 and m["red_columns"] == 5 * 3  # 5 visible red edges per view, 3 columns
    assert abs(m["view_width"] - np.mean(widths)) < 0.03 * np.mean(widths), (m, widths)


def test_more_samples_adds_rows_and_keeps_the_rows_shown():
    s = ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=3))
    images, labels = s.images.copy(), list(s.labels)
    a, b = (v.copy() for v in s.columns()["torch"])
    assert s.more_samples(3) == 5 and s.images.shape == (5, 32, 100)
    np.testing.assert_array_equal(s.images[:2], images)  # same words ...
    assert s.labels[:2] == labels
    a5, b5 = s.columns()["torch"]
    np.testing.assert_array_equal(a5[:2], a)  # ... and the same draws for them
    np.testing.assert_array_equal(b5[:2], b)
    s.set_n_samples(32)
    assert s.more_samples() == 32  # capped at MAX_SAMPLES
    with pytest.raises(ValueError, match="n_samples"):
        s.set_n_samples(0)


def test_state_saves_the_current_spec_as_a_spec_file(tmp_path, monkeypatch):
    from seqclr.augment.spec import load_spec, spec_digest

    s = ExplorerState(ExplorerParams(n_samples=1, backends=["torch"], seed=0, spec_file="specs/mine.yaml"))
    s.set_enabled("flip", True)
    s.set_range("blur", "sigma", 0.25, 1.75)
    monkeypatch.chdir(tmp_path)
    path = s.save_spec()  # params.spec_file, relative to the working directory
    assert path == tmp_path / "specs" / "mine.yaml" and path.read_text() == s.spec_yaml()
    back = load_spec(path)
    assert back == s.spec and spec_digest(back) == spec_digest(s.spec)
    assert back["flip"].enabled and back["blur"].params["sigma"] == (0.25, 1.75)
    # ... and the explorer starts from such a file as from a preset
    again = ExplorerState(ExplorerParams(n_samples=1, backends=["torch"], augmentation=str(path)))
    assert again.spec == s.spec
    with pytest.raises(ValueError, match="must end in"):
        s.save_spec(tmp_path / "mine.txt")


def test_explorer_params_check_spec_files(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("ops:\n  blur: {sigma: [0.5, 0.1]}\n")
    with pytest.raises(ValueError, match=r"augmentation: .*bad.yaml: ops.blur: .*sigma low 0.5 > high 0.1"):
        ExplorerParams(augmentation=str(bad)).validate()
    with pytest.raises(ValueError, match="spec_file"):
        ExplorerParams(spec_file="spec.json").validate()


def test_widgets_more_samples_and_save_spec(tmp_path):
    pytest.importorskip("ipywidgets")
    from seqclr.augment.spec import load_spec
    from seqclr.explorer.widgets import build_ui

    ui = build_ui(ExplorerState(ExplorerParams(n_samples=2, backends=["torch"], seed=5)))
    first, renders = ui.image.value, ui.state.renders
    ui.more.click()
    assert ui.state.params.n_samples == ui.samples.value == 5 and ui.state.renders == renders + 1
    assert ui.image.value != first
    ui.samples.value = 31
    ui.more.click()
    assert ui.state.params.n_samples == 32 and ui.more.disabled
    ui.toggles["flip"].value = True
    ui.spec_file.value = str(tmp_path / "explored.yaml")
    renders = ui.state.renders
    ui.save.click()
    assert ui.state.renders == renders  # saving draws nothing
    assert load_spec(tmp_path / "explored.yaml") == ui.state.spec and ui.last_saved == tmp_path / "explored.yaml"
    assert "saved to" in ui.save_status.value and str(tmp_path / "explored.yaml") in ui.save_status.value
    ui.spec_file.value = str(tmp_path / "explored.txt")
    ui.save.click()
    assert "not saved" in ui.save_status.value and ui.last_saved is None
