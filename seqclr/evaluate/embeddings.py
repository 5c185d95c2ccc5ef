"""Instance embeddings of an encoder, the character under each instance, UMAP and nearest
neighbours (notebooks/embeddings_umap.ipynb).

An instance is a frame (frame-to-instance) or a window (window-to-instance, T' windows pooled
from the frames exactly as :mod:`seqclr.contrastive.instance_mapping` does) of the encoder's
representation R (V, H or HV; no projection head, so encoders of every method compare). Each
instance covers a span of image columns: frame t of T covers [t*W/T, (t+1)*W/T), a window the
union of its frames. The character under an instance is the one whose ``char_boxes`` column
extent overlaps that span the most (None where no glyph is drawn: margins).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from seqclr.contrastive.instance_mapping import adaptive_pool_weights, window_bounds
from seqclr.contrastive.model import METHOD_PRESETS
from seqclr.models.encoder import REPRESENTATIONS

EMBEDDING_MAPPINGS = ("frame", "window")  # the instance mappings whose instances are embedded
NO_CHAR = "∅"
# representation="pretrained": each encoder's own layer, the R its pretraining's projection head read
PRETRAINED = "pretrained"
EMBEDDING_REPRESENTATIONS = (*REPRESENTATIONS, PRETRAINED)  # what an embedding may be read at


def pretrained_representation(encoder, fallback: str = "H") -> str:
    """The representation R that ``encoder`` was pretrained on (``pretrain_config`` of its encoder.pt:
    its ``representation``, else its method's, e.g. V for SimCLR); ``fallback`` for an encoder
    without a pretraining (a random one, or a file saved without its config)."""
    pre = getattr(encoder, "pretrain_config", None) or {}
    if pre.get("representation"):
        return pre["representation"]
    method = pre.get("method")
    if method is None:
        return fallback
    if method not in METHOD_PRESETS:
        raise ValueError(f"pretrained_representation: the encoder's pretrain_config names method {method!r}, "
                         f"not one of {tuple(METHOD_PRESETS)}")
    return METHOD_PRESETS[method]["representation"]


def representation_for(encoder, requested: str) -> str:
    """The R to embed ``encoder`` at: ``requested`` (V | H | HV), or with PRETRAINED its own layer."""
    return pretrained_representation(encoder) if requested == PRETRAINED else requested


@dataclass
class InstanceSet:
    """z (M, F) float32; image (M,) source image; position (M,) frame/window index; span (M, 2)
    image columns [x0, x1); char (M,) the character under each instance (NO_CHAR if none)."""

    z: np.ndarray
    image: np.ndarray
    position: np.ndarray
    span: np.ndarray
    char: np.ndarray

    def __len__(self) -> int:
        return len(self.z)


def instance_spans(mapping: str, n_frames: int, width: int, n_instances: int = 5) -> np.ndarray:
    """(T or T', 2) column spans [x0, x1) of the instances of one image ``width`` pixels wide."""
    if mapping not in EMBEDDING_MAPPINGS:
        raise ValueError(f"instance_spans: mapping must be one of {EMBEDDING_MAPPINGS}, got {mapping!r}")
    if n_frames < 1:
        raise ValueError(f"instance_spans: n_frames must be >= 1, got {n_frames}")
    edges = np.arange(n_frames + 1, dtype=np.float64) * width / n_frames
    frames = np.stack([edges[:-1], edges[1:]], axis=1)
    if mapping == "frame":
        return frames.astype(np.float32)
    if n_instances < 1:
        raise ValueError(f"instance_spans: n_instances must be >= 1, got {n_instances}")
    start, end = (np.asarray(b) for b in window_bounds(n_frames, n_instances))  # the mapping's own windows
    return np.stack([frames[start, 0], frames[end - 1, 1]], axis=1).astype(np.float32)


def chars_under(spans: np.ndarray, char_boxes: np.ndarray | None, label: str) -> list[str]:
    """For each span, the character of ``label`` whose box [x0, x1) overlaps it the most; NO_CHAR
    where none overlaps (or when the boxes are unknown). Ties go to the first character."""
    if char_boxes is None:
        return [NO_CHAR] * len(spans)
    boxes = np.asarray(char_boxes, dtype=np.float64)
    if boxes.shape != (len(label), 2):
        raise ValueError(f"chars_under: char_boxes of shape {boxes.shape} do not match label {label!r} ({len(label)} chars)")
    out = []
    for x0, x1 in np.asarray(spans, dtype=np.float64):
        overlap = np.minimum(boxes[:, 1], x1) - np.maximum(boxes[:, 0], x0)
        k = int(np.argmax(overlap)) if len(boxes) else -1
        out.append(label[k] if k >= 0 and overlap[k] > 0 and not label[k].isspace() else NO_CHAR)
    return out


@torch.no_grad()
def embed_instances(
    encoder,
    items: Sequence[dict],
    mapping: str = "frame",
    representation: str = "H",
    n_instances: int = 5,
    batch_size: int = 64,
) -> InstanceSet:
    """Instances of WordDataset ``items`` (dicts with image (1, 32, W), label, char_boxes) under a
    SequenceEncoder; windows pool the frames with the instance-mapping weights."""
    if mapping not in EMBEDDING_MAPPINGS:
        raise ValueError(f"embed_instances: mapping must be one of {EMBEDDING_MAPPINGS}, got {mapping!r}")
    encoder.eval()
    zs, img, pos, spans, chars = [], [], [], [], []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        x = torch.stack([it["image"] for it in chunk])
        out = encoder(x)
        r = out.representation(representation).float()
        t = r.size(1)
        if mapping == "window":
            w = adaptive_pool_weights(out.lengths, t, n_instances, r.dtype)
            r = torch.bmm(w, r)
        sp = instance_spans(mapping, t, x.size(-1), n_instances)
        for j, it in enumerate(chunk):
            boxes = it.get("char_boxes")
            boxes = boxes.numpy() if torch.is_tensor(boxes) else boxes
            zs.append(r[j].numpy())
            img += [start + j] * len(sp)
            pos += list(range(len(sp)))
            spans.append(sp)
            chars += chars_under(sp, boxes, it["label"])
    return InstanceSet(
        z=np.concatenate(zs).astype(np.float32),
        image=np.asarray(img, dtype=np.int64),
        position=np.asarray(pos, dtype=np.int64),
        span=np.concatenate(spans),
        char=np.asarray(chars, dtype=object),
    )


def l2_normalize(z: np.ndarray) -> np.ndarray:
    return z / np.maximum(np.linalg.norm(z, axis=1, keepdims=True), 1e-12)


def umap_2d(z: np.ndarray, seed: int = 0, n_neighbors: int = 15, min_dist: float = 0.1) -> np.ndarray:
    """(M, 2) UMAP of the L2-normalized instances (cosine geometry, as the contrastive loss).
    Seeded: the same inputs and seed give the same layout (UMAP then runs single-threaded)."""
    import umap  # lazy: umap-learn is the optional extra [notebooks], slow to import (numba); only the figure needs it

    if len(z) < 4:
        raise ValueError(f"umap_2d: need at least 4 instances, got {len(z)}")
    reducer = umap.UMAP(
        n_components=2, n_neighbors=min(n_neighbors, len(z) - 1), min_dist=min_dist, metric="euclidean",
        random_state=seed, init="spectral" if len(z) > 16 else "random",
    )
    return reducer.fit_transform(l2_normalize(z)).astype(np.float32)


def nearest_neighbours(z: np.ndarray, queries: Sequence[int], k: int = 5, exclude_same_image: np.ndarray | None = None) -> np.ndarray:
    """(len(queries), k) indices of each query's k most cosine-similar instances (itself excluded;
    with ``exclude_same_image`` = the image index per instance, instances of the query's own image
    too, so neighbours show what the encoder groups across words)."""
    zn = l2_normalize(np.asarray(z, dtype=np.float64))
    sims = zn[list(queries)] @ zn.T
    for row, q in enumerate(queries):
        sims[row, q] = -np.inf
        if exclude_same_image is not None:
            sims[row, exclude_same_image == exclude_same_image[q]] = -np.inf
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def neighbour_char_agreement(chars: np.ndarray, queries: Sequence[int], neighbours: np.ndarray) -> float:
    """Fraction of (query, neighbour) pairs under the same character (queries on a glyph only)."""
    pairs = [(chars[q], chars[n]) for q, row in zip(queries, neighbours) for n in row if chars[q] != NO_CHAR]
    return float(np.mean([a == b for a, b in pairs])) if pairs else float("nan")


def pick_queries(inst: InstanceSet, n: int, seed: int = 0) -> list[int]:
    """``n`` seeded query instances that lie on a glyph."""
    on_glyph = np.flatnonzero(inst.char != NO_CHAR)
    if len(on_glyph) == 0:
        return []
    rng = np.random.default_rng(seed)
    return sorted(rng.choice(on_glyph, size=min(n, len(on_glyph)), replace=False).tolist())


AGREEMENTS = ("char", "position")  # what a neighbour agrees on: the character under it, or its frame/window index


def neighbour_agreement(inst: InstanceSet, k: int = 6, seed: int = 0, by: str = "char") -> float:
    """Same-character rate (``by="char"``) or same-position rate (``by="position"``: the same frame
    or window index) of the ``k`` nearest neighbours from other words (cosine), over every instance
    that lies on a glyph (not just the queries a figure shows)."""
    if by not in AGREEMENTS:
        raise ValueError(f"neighbour_agreement: by must be one of {AGREEMENTS}, got {by!r}")
    queries = pick_queries(inst, len(inst), seed)
    nn = nearest_neighbours(inst.z, queries, k, exclude_same_image=inst.image)
    if by == "char":
        return neighbour_char_agreement(inst.char, queries, nn)
    if not len(queries):
        return float("nan")
    return float(np.mean(inst.position[queries][:, None] == inst.position[nn]))


def agreement_by_encoder(inst: dict[str, InstanceSet], k: int = 6, seed: int = 0, by: str = "char") -> dict[str, float]:
    """:func:`neighbour_agreement` of each encoder's instances."""
    return {name: neighbour_agreement(s, k, seed, by) for name, s in inst.items()}


def embeddings_summary(agreement: dict[str, float], inst: dict[str, InstanceSet], n_images: int, params: dict,
                       representations: dict[str, str] | None = None,
                       position_agreement: dict[str, float] | None = None) -> dict:
    """The embeddings.json record: (character) agreement per encoder, instances per encoder, images,
    parameters; optionally the representation each encoder was read at (representation "pretrained")
    and the neighbours' same-position rate per encoder."""
    out = {"agreement": agreement, "instances": len(next(iter(inst.values()))), "images": n_images, "params": dict(params)}
    if representations is not None:
        out["representations"] = dict(representations)
    if position_agreement is not None:
        out["position_agreement"] = dict(position_agreement)
    return out


def save_embeddings(output_dir, summary: dict, umap_png: bytes, neighbour_pngs: dict[str, bytes]) -> Path:
    """Write umap.png, neighbours_<encoder>.png (spaces as _) and embeddings.json under
    ``output_dir``; returns the folder."""
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "umap.png").write_bytes(umap_png)
    for name, png in neighbour_pngs.items():
        (out / f"neighbours_{name.replace(' ', '_')}.png").write_bytes(png)
    (out / "embeddings.json").write_text(json.dumps(summary, indent=1))
    return out


# ---------------------------------------------------------------------------------------------
# Figures.
# ---------------------------------------------------------------------------------------------


def _char_colors(chars: np.ndarray, top: int = 12) -> tuple[list, list[str]]:
    # lazy: matplotlib only for the figures; seqclr.evaluate.diagnostics (the ablation's training path) imports this module
    import matplotlib

    common = [c for c, _ in Counter(c for c in chars if c != NO_CHAR).most_common(top)]
    cmap = matplotlib.colormaps["tab20"]
    lut = {c: cmap(i % 20) for i, c in enumerate(common)}
    other = (0.75, 0.75, 0.75, 0.6)
    return [lut.get(c, other) for c in chars], common


def umap_figure(layouts: dict[str, np.ndarray], inst: dict[str, InstanceSet], top_chars: int = 12):
    """Encoders side by side (columns); row 1 colored by the character under the instance (the
    ``top_chars`` most frequent; others and margins grey), row 2 by position in the word."""
    import matplotlib.pyplot as plt  # lazy: as in _char_colors
    from matplotlib.lines import Line2D  # lazy: as in _char_colors

    names = list(layouts)
    fig, axes = plt.subplots(2, len(names), figsize=(4.0 * len(names), 7.6), squeeze=False)
    for j, name in enumerate(names):
        xy, s = layouts[name], inst[name]
        colors, common = _char_colors(s.char, top_chars)
        axes[0, j].scatter(xy[:, 0], xy[:, 1], c=colors, s=6, linewidths=0)
        axes[0, j].set_title(f"{name}: character")
        rel = s.position / max(1, s.position.max())
        sc = axes[1, j].scatter(xy[:, 0], xy[:, 1], c=rel, cmap="viridis", s=6, linewidths=0)
        axes[1, j].set_title(f"{name}: position in word")
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
        if j == len(names) - 1:
            handles = [Line2D([], [], marker="o", ls="", color=c, label=ch) for ch, c in zip(common, _char_colors(np.asarray(common, dtype=object), top_chars)[0])]
            axes[0, j].legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
            fig.colorbar(sc, ax=axes[1, j], label="position / last position")
    fig.tight_layout()
    return fig


def crop(image: np.ndarray, span: Sequence[float], pad: int = 4) -> np.ndarray:
    """Columns [x0 - pad, x1 + pad) of an (H, W) image (clipped to the image)."""
    x0 = max(0, int(np.floor(span[0])) - pad)
    x1 = min(image.shape[1], int(np.ceil(span[1])) + pad)
    return image[:, x0:max(x1, x0 + 1)]


def neighbours_figure(images: Sequence[np.ndarray], inst: InstanceSet, queries: Sequence[int], neighbours: np.ndarray, title: str = ""):
    """One row per query: its crop (framed), then its nearest neighbours' crops, each captioned
    with the character under it (green: same as the query's)."""
    import matplotlib.pyplot as plt  # lazy: as in _char_colors

    k = neighbours.shape[1] if len(queries) else 0
    fig, axes = plt.subplots(max(1, len(queries)), k + 1, figsize=(1.1 * (k + 1), 1.05 * max(1, len(queries))), squeeze=False)
    for row, q in enumerate(queries):
        for col, idx in enumerate([q] + list(neighbours[row])):
            ax = axes[row, col]
            ax.imshow(crop(images[inst.image[idx]], inst.span[idx]), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            same = inst.char[idx] == inst.char[q]
            ax.set_title(repr(inst.char[idx]) if col else f"query {inst.char[q]!r}", fontsize=7,
                         color="black" if col == 0 else ("green" if same else "red"))
            if col == 0:
                for spine in ax.spines.values():
                    spine.set_edgecolor("blue")
                    spine.set_linewidth(2)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig
