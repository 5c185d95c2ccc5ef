"""The ipywidgets UI of the explorer: the views on top at the notebook's full width, then the
controls: a data-source menu, seed and samples sliders, a "more samples" button, a "save spec"
button with its file name, and one checkbox per operation with one range slider per parameter
(the operations wrap in columns below the views). Every change goes through
:class:`ExplorerState` and refreshes the image of the views (a PNG in an ``ipywidgets.Image``).

Each widget carries a ``seqclr-*`` CSS class so a browser test (tests/browser), or a user's
stylesheet, can find it: ``seqclr-explorer``, ``seqclr-views-box``, ``seqclr-views``,
``seqclr-status``, ``seqclr-controls``, ``seqclr-source``, ``seqclr-seed``, ``seqclr-samples``,
``seqclr-more``, ``seqclr-spec-file``, ``seqclr-save``, ``seqclr-save-status``, ``seqclr-ops``,
``seqclr-op-<op>``, ``seqclr-toggle-<op>``, ``seqclr-range-<op>-<param>``.
"""

from __future__ import annotations

import html
import time

from seqclr.augment.spec import INTEGER_PARAMS
from seqclr.explorer.params import MAX_SAMPLES, SOURCES
from seqclr.explorer.state import ExplorerState

MORE_SAMPLES = 3  # rows the "more samples" button adds

# Slider limits per (operation, parameter); the spec validates the chosen values.
SLIDER_MAX = {
    ("linear_contrast", "alpha"): 2.0,
    ("blur", "sigma"): 3.0,
    ("sharpen", "alpha"): 1.0,
    ("sharpen", "lightness"): 2.0,
    ("color_jitter", "brightness"): 3.0,
    ("color_jitter", "contrast"): 3.0,
    ("crop_vertical", "top"): 0.49,
    ("crop_vertical", "bottom"): 0.49,
    ("crop_horizontal", "left"): 0.49,
    ("crop_horizontal", "right"): 0.49,
    ("crop_aggressive", "left"): 0.49,
    ("crop_aggressive", "right"): 0.49,
    ("random_resized_crop", "scale"): 1.0,
    ("random_resized_crop", "ratio"): 5.0,
    ("piecewise_affine", "scale"): 0.1,
    ("piecewise_affine", "nb_rows"): 4,
    ("piecewise_affine", "nb_cols"): 4,
    ("perspective", "scale"): 0.1,
}


# Wide enough for a range readout such as "0.500 – 1.000" beside its slider: at ipywidgets' default
# 300px the readout was squeezed and cut ("0.50"). Each operation is a box COLUMN_WIDTH wide; the
# boxes wrap into as many columns as the notebook's width holds, below the views (which get the
# full width: beside a 420px column of sliders they were squeezed to ~100px per word).
CONTROL_WIDTH = "400px"
COLUMN_WIDTH = "420px"


class ExplorerUI:
    """Widgets bound to an :class:`ExplorerState`. ``ui.widget`` is what the notebook displays."""

    def __init__(self, state: ExplorerState) -> None:
        import ipywidgets as w  # lazy: the optional extra [notebooks]; only inside JupyterLab

        self.state = state
        self._w = w
        self._wide = dict(layout=w.Layout(width=CONTROL_WIDTH))
        toolbar = self._build_toolbar()
        ops = w.HBox(self._build_ops(), layout=w.Layout(flex_flow="row wrap", width="100%"))
        ops.add_class("seqclr-ops")
        # The views take the full width, scaled to it (up or down) with their aspect kept.
        self.image = w.Image(format="png", layout=w.Layout(width="100%", height="auto"))
        self.image.add_class("seqclr-views")
        self.status = w.HTML()
        self.status.add_class("seqclr-status")
        views = w.VBox([self.image, self.status], layout=w.Layout(width="100%"))
        views.add_class("seqclr-views-box")
        controls = w.VBox([*toolbar, ops], layout=w.Layout(width="100%"))
        controls.add_class("seqclr-controls")
        self.widget = w.VBox([views, controls], layout=w.Layout(width="100%"))
        self.widget.add_class("seqclr-explorer")
        self.refresh()

    def _build_toolbar(self) -> list:
        """Rows above the operations: data source, seed, samples (+ "more samples"), save spec."""
        w, wide, state = self._w, self._wide, self.state
        sources = list(SOURCES) + ([state.params.source] if state.params.source not in SOURCES else [])
        self.source = w.Dropdown(options=sources, value=state.params.source, description="data", **wide)
        # Sliders report on release only: a render takes 0.5-2 s on a CPU, so continuous updates
        # queued a render per mouse move while dragging, and a slider also sent its value back when
        # first displayed (an extra render before any action; found by tests/browser).
        self.seed = w.IntSlider(
            value=state.params.seed, min=0, max=99, description="seed", continuous_update=False, **wide
        )
        self.samples = w.IntSlider(
            value=state.params.n_samples, min=1, max=MAX_SAMPLES, description="samples", continuous_update=False, **wide
        )
        fit = dict(layout=w.Layout(width="auto"))  # buttons as wide as their label (148px cut it)
        self.more = w.Button(
            description=f"more samples (+{MORE_SAMPLES})", icon="plus", tooltip="add rows of samples", **fit
        )
        self.spec_file = w.Text(value=state.params.spec_file, description="spec file", **wide)
        self.save = w.Button(description="save spec", icon="save", tooltip="write the current spec as YAML", **fit)
        self.save_status = w.HTML(layout=w.Layout(width="100%"))  # its own line under the button
        for widget, name in [
            (self.source, "source"), (self.seed, "seed"), (self.samples, "samples"), (self.more, "more"),
            (self.spec_file, "spec-file"), (self.save, "save"), (self.save_status, "save-status"),
        ]:  # fmt: skip
            widget.add_class(f"seqclr-{name}")
        self.source.observe(self._on_source, names="value")
        self.seed.observe(self._on_seed, names="value")
        self.samples.observe(self._on_samples, names="value")
        self.more.on_click(self._on_more)
        self.save.on_click(self._on_save)
        self.more.disabled = state.params.n_samples >= MAX_SAMPLES
        wrap = w.Layout(flex_flow="row wrap", align_items="center")
        return [
            w.HBox([self.source, self.seed], layout=wrap),
            w.HBox([self.samples, self.more], layout=wrap),
            w.HBox([self.spec_file, self.save, self.save_status], layout=wrap),
        ]

    def _build_ops(self) -> list:
        """One box per operation: its checkbox and a range slider per parameter."""
        w, wide = self._w, self._wide
        self.toggles: dict[str, w.Checkbox] = {}
        self.sliders: dict[tuple[str, str], w.Widget] = {}
        rows = []
        for op in self.state.spec.ops:
            box = w.Checkbox(value=op.enabled, description=op.name, indent=False)
            box.add_class(f"seqclr-toggle-{op.name}")
            box.observe(self._on_toggle(op.name), names="value")
            self.toggles[op.name] = box
            params = []
            for key, (lo, hi) in op.params.items():
                top = SLIDER_MAX.get((op.name, key), max(1.0, 2 * hi))
                if (op.name, key) in INTEGER_PARAMS:
                    s = w.IntRangeSlider(
                        value=(int(lo), int(hi)), min=2, max=int(top), description=key, continuous_update=False, **wide
                    )
                else:
                    s = w.FloatRangeSlider(
                        value=(lo, hi),
                        min=0.0,
                        max=float(top),
                        step=0.005,
                        description=key,
                        readout_format=".3f",
                        continuous_update=False,
                        **wide,
                    )
                s.add_class(f"seqclr-range-{op.name}-{key}")
                s.observe(self._on_range(op.name, key), names="value")
                self.sliders[(op.name, key)] = s
                params.append(s)
            row = w.VBox([box, *params], layout=w.Layout(border="1px solid #ddd", padding="2px", width=COLUMN_WIDTH))
            row.add_class(f"seqclr-op-{op.name}")
            rows.append(row)
        return rows

    def refresh(self) -> None:
        """Re-render the views; a failure is shown in the status line (the last image stays)
        instead of a traceback that, from a widget callback, lands in JupyterLab's log console."""
        t0 = time.perf_counter()
        try:
            self.image.value = self.state.views_png()
            error = ""
        except Exception as err:  # noqa: BLE001 - reported in the UI, never raised into it
            error = f"could not render the views: {type(err).__name__}: {err}"
        notes = [f"{k}: {v}" for k, v in getattr(self.state, "notes", {}).items()]
        msg = [m for m in (self.state.message, error) if m]
        # The render count lets a person (and the browser test) see that this change was drawn.
        done = f"render {self.state.renders} ({time.perf_counter() - t0:.2f} s)"
        lines = [html.escape(line) for line in msg + notes] + [f'<span class="seqclr-render">{done}</span>']
        self.status.value = "<br>".join(lines)

    # Callbacks (each one a closure over the operation it belongs to).
    def _on_toggle(self, op: str):
        def callback(change) -> None:
            self.state.set_enabled(op, change["new"])
            self.refresh()

        return callback

    def _on_range(self, op: str, key: str):
        def callback(change) -> None:
            # the browser sends 0.49999999999999994 for 0.5: round to well below the 0.005 step,
            # so a saved spec file reads as the readout shows
            low, high = (round(float(v), 9) for v in change["new"])
            self.state.set_range(op, key, low, high)
            self.refresh()

        return callback

    def _on_source(self, change) -> None:
        try:
            self.state.set_source(change["new"])
            self.state.message = ""
        except Exception as err:  # shown in the UI; the previous images stay
            self.state.message = f"could not load {change['new']!r}: {err}"
        self.refresh()

    def _on_seed(self, change) -> None:
        self.state.set_seed(change["new"])
        self.refresh()

    def _on_samples(self, change) -> None:
        try:
            self.state.set_n_samples(change["new"])
            self.state.message = ""
        except Exception as err:  # shown in the UI; the previous images stay
            self.state.message = f"could not load {change['new']} samples: {err}"
        self.more.disabled = self.state.params.n_samples >= MAX_SAMPLES
        self.refresh()

    def _on_more(self, _button) -> None:
        """Adds rows through the samples slider: one change, one render."""
        self.samples.value = min(MAX_SAMPLES, self.samples.value + MORE_SAMPLES)

    def _on_save(self, _button) -> None:
        """Write the current spec to the file named in the text box; say where (or why not)."""
        try:
            self.last_saved = self.state.save_spec(self.spec_file.value)
            text, color = f"saved to {self.last_saved} (train with augmentation: {self.last_saved})", "#1a7f37"
        except Exception as err:  # noqa: BLE001 - reported beside the button, never raised into the UI
            self.last_saved = None
            text, color = f"not saved: {type(err).__name__}: {err}", "#b42318"
        self.save_status.value = f'<span style="color: {color}">{html.escape(text)}</span>'


def build_ui(state: ExplorerState) -> ExplorerUI:
    return ExplorerUI(state)
