"""Helpers of notebooks/pretrain.ipynb: its parameters (PretrainConfig + the number of local
processes) and a preview of the training pairs."""

from __future__ import annotations

import io
from dataclasses import dataclass

import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from seqclr import config as _params
from seqclr.contrastive.instance_mapping import window_bounds
from seqclr.data.skips import drop_skipped
from seqclr.models.encoder import frames_for_width, get_encoder_config
from seqclr.train.config import PretrainConfig
from seqclr.train.data import build_dataset
from seqclr.train.loop import augment_generator, build_augment


@dataclass
class PretrainNotebookParams(PretrainConfig):
    """The notebook's parameters cell: every PretrainConfig field plus ``gpus``, the number of
    local processes to launch (0: one per visible GPU; CPU runs use one)."""

    gpus: int = 0

    def validate(self, source: str | None = None) -> "PretrainNotebookParams":
        super().validate(source)
        if self.gpus < 0:
            raise ValueError(f"{source + ': ' if source else ''}gpus must be >= 0, got {self.gpus}")
        return self

    def split(self) -> tuple[PretrainConfig, int | None]:
        """(the PretrainConfig, nprocs for launch_local: None = automatic)."""
        values = _params.to_dict(self)
        gpus = values.pop("gpus")
        return PretrainConfig.from_dict(values, source="notebook parameters"), (gpus or None)


def preview_png(cfg: PretrainConfig, n: int = 4, seed: int | None = None) -> bytes:
    """PNG of ``n`` training images (left) and two augmented views of each (a positive pair), with
    the encoder's frame grid (thin lines: the T frames) and, for window-to-instance, the T'
    windows (coloured spans) drawn over the views."""
    ds = build_dataset(cfg.replace(train_size=max(n, 1)) if cfg.data.startswith("synthetic") else cfg)
    n = min(n, len(ds))
    items, _ = drop_skipped(ds[i] for i in range(n))  # on_error: skip drops unreadable images
    n = len(items)
    x = torch.stack([it["image"] for it in items])
    gen = augment_generator(cfg.seed if seed is None else seed, 0)
    aug = build_augment(cfg)
    with torch.no_grad():
        views = (aug(x, generator=gen), aug(x, generator=gen))
    enc = get_encoder_config(cfg.encoder)
    t = int(frames_for_width(cfg.width, enc.feature_extractor))
    mapping = cfg.model_kwargs()["mapping"]
    w = cfg.width

    fig = Figure(figsize=(9, 1.1 * n + 0.4), dpi=100)
    FigureCanvasAgg(fig)
    axes = fig.subplots(n, 3, squeeze=False)
    for i in range(n):
        for j, (img, title) in enumerate(((x[i], "image"), (views[0][i], "view a"), (views[1][i], "view b"))):
            ax = axes[i][j]
            ax.imshow(img[0].numpy(), cmap="gray", vmin=0, vmax=1, aspect="auto", extent=(0, w, cfg.height, 0))
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(title if j else f"{title} ({t} frames)", fontsize=9)
            if j == 0:
                ax.set_ylabel(repr(items[i]["label"]), fontsize=8, rotation=0, ha="right", va="center")
                continue
            for k in range(1, t):
                ax.axvline(k * w / t, color="tab:blue", lw=0.4, alpha=0.5)
            if mapping == "window":
                for r, (lo, hi) in enumerate(zip(*(b.tolist() for b in window_bounds(t, cfg.n_instances)))):
                    ax.axvspan(lo * w / t, hi * w / t, ymin=0.0, ymax=0.08, color=f"C{r % 10}", alpha=0.8)
    fig.suptitle(f"{cfg.resolved_augmentation} augmentation; {cfg.method} ({mapping} mapping)", fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
