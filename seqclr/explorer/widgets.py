"""The ipywidgets UI of the explorer: a data-source menu, a seed slider, one checkbox per
operation and one range slider per parameter; every change goes through :class:`ExplorerState`
and refreshes the image of the views (a PNG in an ``ipywidgets.Image``).

Each widget carries a ``seqclr-*`` CSS class so a browser test (tests/browser), or a user's
stylesheet, can find it: ``seqclr-source``, ``seqclr-seed``, ``seqclr-op-<op>``,
``seqclr-toggle-<op>``, ``seqclr-range-<op>-<param>``, ``seqclr-views``, ``seqclr-status``.
"""

from __future__ import annotations

import html
import time

from seqclr.augment.spec import INTEGER_PARAMS
from seqclr.explorer.params import SOURCES
from seqclr.explorer.state import ExplorerState

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
# 300px the readout was squeezed and cut ("0.50"), and the column (360px, shrunk by the wide image
# beside it) clipped the controls' right edge.
CONTROL_WIDTH = "400px"
COLUMN_WIDTH = "420px"


class ExplorerUI:
    """Widgets bound to an :class:`ExplorerState`. ``ui.widget`` is what the notebook displays."""

    def __init__(self, state: ExplorerState) -> None:
        import ipywidgets as w

        self.state = state
        sources = list(SOURCES) + ([state.params.source] if state.params.source not in SOURCES else [])
        wide = dict(layout=w.Layout(width=CONTROL_WIDTH))
        self.source = w.Dropdown(options=sources, value=state.params.source, description="data", **wide)
        # Sliders report on release only: a render takes 0.5-2 s on a CPU, so continuous updates
        # queued a render per mouse move while dragging, and a slider also sent its value back when
        # first displayed (an extra render before any action; found by tests/browser).
        self.seed = w.IntSlider(
            value=state.params.seed, min=0, max=99, description="seed", continuous_update=False, **wide
        )
        self.source.add_class("seqclr-source")
        self.seed.add_class("seqclr-seed")
        self.toggles: dict[str, w.Checkbox] = {}
        self.sliders: dict[tuple[str, str], w.Widget] = {}
        rows = []
        for op in state.spec.ops:
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
            row = w.VBox([box, *params], layout=w.Layout(border="1px solid #ddd", padding="2px"))
            row.add_class(f"seqclr-op-{op.name}")
            rows.append(row)
        self.source.observe(self._on_source, names="value")
        self.seed.observe(self._on_seed, names="value")
        # The views scale down to the space left beside the controls (never the other way round).
        self.image = w.Image(format="png", layout=w.Layout(max_width="100%", height="auto"))
        self.image.add_class("seqclr-views")
        self.status = w.HTML()
        self.status.add_class("seqclr-status")
        controls = w.VBox([self.source, self.seed, *rows], layout=w.Layout(width=COLUMN_WIDTH, flex="0 0 auto"))
        controls.add_class("seqclr-controls")
        views = w.VBox([self.image, self.status], layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.widget = w.HBox([controls, views])
        self.widget.add_class("seqclr-explorer")
        self.refresh()

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
            low, high = change["new"]
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


def build_ui(state: ExplorerState) -> ExplorerUI:
    return ExplorerUI(state)
