"""The explorer's state and the callbacks the widgets call: plain methods, testable without a
kernel. Every change re-renders the views; an invalid setting is reported, never raised into the
UI, and leaves the last valid pipeline in place. The current spec can be saved as a spec file
(:meth:`ExplorerState.save_spec`), which pretraining and the recognizer protocols accept as their
``augmentation``."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqclr.augment.spec import AugmentSpec, get_spec, save_spec, spec_yaml
from seqclr.data.dataset import build_source
from seqclr.data.preprocess import resize_word
from seqclr.explorer.params import MAX_SAMPLES, ExplorerParams
from seqclr.explorer.views import augment_views, counter_examples_figure, views_figure
from seqclr.plots import figure_png


def open_source(source: str, split: str):
    """The embedded renderer by name, an LMDB folder, or a ``path<TAB>label`` file."""
    if source.startswith("synthetic-"):
        return build_source(source, split=split, size=10_000, seed=0)
    path = Path(source)
    if path.is_dir():
        return build_source("lmdb", path=str(path))
    if path.is_file():
        return build_source("tsv", path=str(path))
    raise ValueError(
        f"data source {source!r} is neither 'synthetic-handwriting', 'synthetic-print', "
        "an LMDB folder nor a path<TAB>label file"
    )


def load_images(source: str, split: str, n: int, seed: int, height: int, width: int) -> tuple[np.ndarray, list[str]]:
    """``n`` word images of ``source`` picked by ``seed``, resized to uint8 (n, height, width).
    The first images do not depend on ``n``: asking for more adds images after them."""
    data = open_source(source, split)
    if len(data) == 0:
        raise ValueError(f"data source {source!r} is empty")
    rng = np.random.default_rng(seed)
    idx = rng.choice(len(data), size=min(max(n, MAX_SAMPLES), len(data)), replace=False)[:n]
    samples = [data[int(i)] for i in idx]
    images = np.stack([resize_word(s.image, None, height, width)[0] for s in samples])
    return images, [s.label for s in samples]


@dataclass
class ExplorerState:
    params: ExplorerParams
    spec: AugmentSpec = field(init=False)
    images: np.ndarray = field(init=False)
    labels: list[str] = field(init=False)
    message: str = ""
    renders: int = 0

    def __post_init__(self) -> None:
        self.params.validate()
        spec = get_spec(self.params.augmentation)  # a preset name or a spec file
        for op in self.params.disable_ops:
            spec = spec.replace(op, enabled=False)
        self.spec = spec
        self.backends = list(self.params.backends)
        self._reload()

    # -- callbacks ---------------------------------------------------------------------------
    def set_source(self, source: str) -> None:
        self.params.source = source
        self._reload()

    def set_seed(self, seed: int) -> None:
        self.params.seed = int(seed)
        self._reload()

    def set_enabled(self, op: str, enabled: bool) -> None:
        self._update(op, enabled=bool(enabled))

    def set_range(self, op: str, param: str, low: float, high: float) -> None:
        self._update(op, **{param: (float(low), float(high))})

    def set_n_samples(self, n: int) -> None:
        """Show ``n`` word images (1..MAX_SAMPLES); the rows already shown keep their images and
        their views (both are drawn in a fixed order per seed)."""
        n = int(n)
        if not 1 <= n <= MAX_SAMPLES:
            raise ValueError(f"n_samples must be in 1..{MAX_SAMPLES}, got {n}")
        self.params.n_samples = n
        self._reload()

    def more_samples(self, step: int = 3) -> int:
        """Add ``step`` rows of samples (up to MAX_SAMPLES); returns the new number of samples."""
        self.set_n_samples(min(MAX_SAMPLES, self.params.n_samples + int(step)))
        return self.params.n_samples

    # -- the spec as a file ------------------------------------------------------------------
    def spec_yaml(self) -> str:
        """The text "save spec" writes (a spec file of the current spec)."""
        return spec_yaml(self.spec, self.params.spec_file)

    def save_spec(self, path: str | Path | None = None) -> Path:
        """Write the current spec as a spec file to ``path`` (default ``params.spec_file``);
        returns its absolute path. ``augmentation: <that path>`` trains with exactly this spec."""
        return save_spec(self.spec, path if path is not None and str(path).strip() else self.params.spec_file)

    # -- rendering ---------------------------------------------------------------------------
    def columns(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Two views per available backend; a backend that cannot run (imgaug not installed,
        or no operation enabled) is skipped and the reason kept in ``self.notes``."""
        self.notes: dict[str, str] = {}
        out = {}
        if not self.spec.enabled_ops:
            self.notes["pipeline"] = "no operation enabled: views equal the original"
        for backend in self.backends:
            try:
                out[backend] = augment_views(self.images, self.spec, self.params.seed, backend)
            except ImportError as err:
                self.notes[backend] = f"unavailable ({err})"
        return out

    def views_figure(self):
        cols = self.columns()
        return views_figure(self.images, self.labels, cols, self.params.frames, notes=self.notes)

    def counter_examples_figure(self):
        return counter_examples_figure(self.images, self.labels, self.params.frames, seed=self.params.seed)

    def views_png(self) -> bytes:
        self.renders += 1
        return figure_png(self.views_figure(), dpi=100, tight=False)

    # -- internals ---------------------------------------------------------------------------
    def _reload(self) -> None:
        p = self.params
        self.images, self.labels = load_images(p.source, p.split, p.n_samples, p.seed, p.height, p.width)

    def _update(self, op: str, **changes) -> None:
        try:
            self.spec = self.spec.replace(op, **changes)
            self.message = ""
        except (KeyError, ValueError) as err:
            self.message = f"not applied: {err}"
