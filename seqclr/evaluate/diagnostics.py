"""Diagnostics of what SeqCLR pretraining learns: what the frozen frames of an encoder f(.) hold.

At CPU scale the contrastive loss of eq. (1) falls far below chance while a linear CTC probe on the
frozen H frames reads almost nothing. These tools look at the frames directly:

* :func:`frame_features`: run a frozen encoder over a WordDataset once; per-image frames of the
  representation R (V, H or HV; (N, T, F)) and, per frame, the character it sits on. Frame t of T
  covers input columns [t*W/T, (t+1)*W/T); its character is the label character whose
  ``char_boxes`` extent overlaps that range most (seqclr.evaluate.embeddings.chars_under), or
  ``NO_CHAR_ID`` (-1): no glyph there, a space, or unknown boxes.
* :func:`linear_probe`: a linear CTC probe (one nn.Linear F -> classes + blank, CTC loss, greedy
  decoding: seqclr.models.prediction.CTCDecoder) trained on cached frozen frames; val Acc / CER.
  :func:`probe_curve` gives the decodability of frozen frames on validation data against
  pretraining steps, one checkpoint per point (:func:`load_frozen_encoder` reads encoder files,
  training checkpoints and run folders).
* :func:`retrieval_diagnostics`: cosine nearest neighbours of windows (adaptive average pooling of
  the frames to T' windows, as window-to-instance) and of frames: do neighbours come from the same
  image, the same position, the same character? Each figure comes with its chance level, computed
  from the data (what a uniformly random neighbour would score).

Command line (figures of a pretrained and a random encoder side by side, and a JSON)::

    python -m seqclr.evaluate.diagnostics --encoder outputs/pretrain/x/encoder.pt \\
        --data synthetic-handwriting --benchmark hw-v2 --split val --size 512 [--probe-train-size 1024]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from seqclr.contrastive.instance_mapping import frame_to_instance, window_to_instance
from seqclr.data.charset import get_charset
from seqclr.data.dataset import WordDataset, build_source, collate_words
from seqclr.data.skips import drop_skipped
from seqclr.data.source_names import SYNTHETIC_SOURCES
from seqclr.evaluate.embeddings import NO_CHAR, chars_under, instance_spans
from seqclr.exits import guarded
from seqclr.metrics import evaluate_predictions
from seqclr.models.encoder import REPRESENTATIONS, EncoderConfig, SequenceEncoder, get_encoder_config
from seqclr.models.prediction import CTCDecoder
from seqclr.models.sequence_modeling import lengths_to_mask
from seqclr.train.checkpoint import (
    ENCODER_FORMAT,
    FORMAT,
    CheckpointError,
    has_checkpoint,
    load_checkpoint,
    load_encoder,
    load_latest,
)

NO_CHAR_ID = -1


# ---------------------------------------------------------------------------------------------
# Frozen frames and the character under each frame.
# ---------------------------------------------------------------------------------------------


@dataclass
class FrameFeatures:
    """Frozen frames of N images: feats (N, T, F) float32 on CPU; lengths (N,) real frames;
    chars (N, T) int64 charset id of the character under each frame (NO_CHAR_ID: none);
    labels (N,) the strings; charset the Charset of the ids."""

    feats: torch.Tensor
    lengths: torch.Tensor
    chars: torch.Tensor
    labels: list[str]
    charset: object

    def flat(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """The real frames in (image, position) row-major order, as the arguments of
        :func:`retrieval_diagnostics`: feats (M, F), char_of_frame, image_of_frame, position_of_frame."""
        inst = frame_to_instance(self.feats, self.lengths)
        return inst.z, self.chars[lengths_to_mask(self.lengths, self.feats.size(1))], inst.image_index, inst.position


def frame_characters(label: str, char_boxes, n_frames: int, width: int, charset) -> list[int]:
    """Charset id of the character under each of ``n_frames`` frames tiling an image ``width``
    pixels wide (frame t covers columns [t*width/n_frames, (t+1)*width/n_frames)): the label
    character whose box [x0, x1) overlaps the frame most (ties: the first), NO_CHAR_ID where no box
    overlaps, the character is a space, or ``char_boxes`` is None."""
    charset = get_charset(charset)
    boxes = char_boxes.numpy() if torch.is_tensor(char_boxes) else char_boxes
    chars = chars_under(instance_spans("frame", n_frames, width), boxes, label)
    return [NO_CHAR_ID if c == NO_CHAR else charset.encode(c)[0] for c in chars]


@torch.no_grad()
def frame_features(
    encoder,
    dataset: Sequence[dict],
    representation: str = "H",
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    charset=None,
) -> FrameFeatures:
    """Frames of the frozen ``encoder`` (a SequenceEncoder, put in eval mode on ``device``) over
    ``dataset`` (a WordDataset, or any sequence of its item dicts of equal image width; then pass
    ``charset``). Representation "V", "H" or "HV" (EncoderOutput.representation)."""
    charset = get_charset(charset if charset is not None else getattr(dataset, "charset", "english95"))
    if len(dataset) == 0:
        raise ValueError("frame_features: the dataset is empty")
    encoder = encoder.to(device).eval()
    feats, lengths, chars, labels = [], [], [], []
    for start in range(0, len(dataset), batch_size):
        items, _ = drop_skipped(dataset[i] for i in range(start, min(start + batch_size, len(dataset))))
        if not items:  # every one skipped under on_error: skip
            continue
        x = collate_words(items)["image"].to(device)
        out = encoder(x)
        feats.append(out.representation(representation).float().cpu())
        lengths.append(out.lengths.cpu())
        t = feats[-1].size(1)
        for it in items:
            chars.append(frame_characters(it["label"], it["char_boxes"], t, x.size(-1), charset))
            labels.append(it["label"])
    return FrameFeatures(torch.cat(feats), torch.cat(lengths), torch.tensor(chars, dtype=torch.long), labels, charset)


# ---------------------------------------------------------------------------------------------
# Encoders from encoder files, training checkpoints and run folders.
# ---------------------------------------------------------------------------------------------


def _encoder_from_training_state(state: dict):
    """The base encoder of a pretraining checkpoint's state: architecture from its config's encoder
    preset, weights from the ``encoder.`` entries of the SeqCLR model's state dict."""
    cfg = state["config"]
    encoder = SequenceEncoder(get_encoder_config(cfg["encoder"], input_norm=cfg.get("input_norm")))
    prefix = "encoder."
    encoder.load_state_dict({k[len(prefix):]: v for k, v in state["model"].items() if k.startswith(prefix)})
    encoder.pretrain_config = cfg
    encoder.pretrain_step = int(state["step"])
    return encoder


def load_frozen_encoder(path: str | Path, map_location: str | torch.device = "cpu"):
    """The SequenceEncoder in ``path`` (eval mode, no gradients): an encoder file
    (seqclr.train.checkpoint.save_encoder, e.g. ``<run>/encoder.pt``), a training checkpoint
    (save_checkpoint: ``<run>/last.pt`` or a copy of one), or a run folder (its newest good training
    checkpoint, else its ``encoder.pt``). CheckpointError for anything else."""
    p = Path(path)
    if p.is_dir():
        encoder = _encoder_from_training_state(load_latest(p, map_location)[0]) if has_checkpoint(p) else None
        p = p / "encoder.pt"
    else:
        encoder = None
    if encoder is None:
        if not p.is_file():
            raise CheckpointError(f"{p}: no such encoder file or training checkpoint")
        try:
            kind = torch.load(p, map_location="cpu", weights_only=True).get("format")
        except Exception as err:
            raise CheckpointError(f"{p}: unreadable (truncated or corrupt?): {type(err).__name__}: {err}") from err
        if kind == ENCODER_FORMAT:
            encoder = load_encoder(p, map_location)
        elif kind == FORMAT:
            encoder = _encoder_from_training_state(load_checkpoint(p, map_location))
        else:
            raise CheckpointError(f"{p}: neither a seqclr encoder file nor a training checkpoint (format {kind!r})")
    for q in encoder.parameters():
        q.requires_grad_(False)
    return encoder.eval()


# ---------------------------------------------------------------------------------------------
# The linear CTC probe.
# ---------------------------------------------------------------------------------------------


def _real_lengths(feats: torch.Tensor, lengths) -> torch.Tensor:
    if feats.dim() != 3:
        raise ValueError(f"linear_probe: expected frames (N, T, F), got {tuple(feats.shape)}")
    if lengths is None:
        return torch.full((feats.size(0),), feats.size(1), dtype=torch.long)
    return torch.as_tensor(lengths, dtype=torch.long).cpu()


@torch.no_grad()
def _probe_metrics(probe, feats, lengths, labels, charset, device, case_sensitive: bool) -> dict:
    preds = []
    for s in range(0, len(feats), 1024):
        ids = probe.decode(feats[s : s + 1024].to(device), lengths[s : s + 1024].to(device))
        preds += [charset.decode(i) for i in ids]
    return evaluate_predictions(preds, list(labels), case_sensitive)


def linear_probe(
    train_feats: torch.Tensor,
    train_labels: Sequence[str],
    val_feats: torch.Tensor,
    val_labels: Sequence[str],
    charset,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 64,
    train_lengths: torch.Tensor | None = None,
    val_lengths: torch.Tensor | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    case_sensitive: bool = True,
) -> dict:
    """Train a linear CTC probe (CTCDecoder: one nn.Linear F -> len(charset) + blank) with Adam on
    cached frozen frames (N, T, F) and their labels; frames are standardized with the training
    frames' mean and std first (an affine change: the probe stays linear). Returns the val metrics
    of greedy decoding (acc, ed1, cer, wer, n; seqclr.metrics) plus train_acc, train_cer and
    final_loss (last batch). Seeded; the global RNG is left untouched."""
    charset = get_charset(charset)
    x_tr, x_va = train_feats.detach().float().cpu(), val_feats.detach().float().cpu()
    len_tr, len_va = _real_lengths(x_tr, train_lengths), _real_lengths(x_va, val_lengths)
    if len(x_tr) != len(train_labels) or len(x_va) != len(val_labels) or not len(x_tr) or not len(x_va):
        raise ValueError(f"linear_probe: {len(x_tr)}/{len(x_va)} frame sets for {len(train_labels)}/{len(val_labels)} labels")
    real = x_tr[lengths_to_mask(len_tr, x_tr.size(1))]
    mean, std = real.mean(0), real.std(0).clamp_min(1e-6)
    x_tr, x_va = (x_tr - mean) / std, (x_va - mean) / std
    targets = [charset.encode(label) for label in train_labels]
    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        probe = CTCDecoder(x_tr.size(2), len(charset)).to(device)
    opt = torch.optim.Adam(probe.parameters(), lr=lr)
    loss = torch.tensor(float("nan"))
    for _ in range(steps):
        idx = torch.randperm(len(x_tr), generator=gen)[:batch_size]
        loss = probe.compute_loss(x_tr[idx].to(device), len_tr[idx].to(device), [targets[i] for i in idx.tolist()])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    probe.eval()
    val = _probe_metrics(probe, x_va, len_va, val_labels, charset, device, case_sensitive)
    train = _probe_metrics(probe, x_tr, len_tr, train_labels, charset, device, case_sensitive)
    return {**val, "train_acc": train["acc"], "train_cer": train["cer"], "final_loss": float(loss.detach())}


def probe_curve(
    checkpoints: Sequence[tuple[int, str | Path]],
    train_set: Sequence[dict],
    val_set: Sequence[dict],
    representation: str = "H",
    charset=None,
    steps: int = 300,
    lr: float = 1e-2,
    batch_size: int = 64,
    device: str | torch.device = "cpu",
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> list[dict]:
    """Decodability of frozen frames on validation data against pretraining steps: for each
    (step, path) (any path :func:`load_frozen_encoder` reads), in step order, a linear probe on the
    encoder's frozen ``representation`` frames of ``train_set``, scored on ``val_set``.
    Returns [{step, checkpoint, acc, cer, ...linear_probe's figures}]."""
    rows = []
    for step, path in sorted(checkpoints, key=lambda c: c[0]):
        encoder = load_frozen_encoder(path)
        tr = frame_features(encoder, train_set, representation, device=device, charset=charset)
        va = frame_features(encoder, val_set, representation, device=device, charset=tr.charset)
        m = linear_probe(
            tr.feats, tr.labels, va.feats, va.labels, tr.charset, steps=steps, lr=lr, batch_size=batch_size,
            train_lengths=tr.lengths, val_lengths=va.lengths, seed=seed, device=device,
        )
        rows.append({"step": int(step), "checkpoint": str(path), **m})
        if log:
            log(f"probe_curve: step {step}: val acc {m['acc']:.4f} cer {m['cer']:.4f} (train acc {m['train_acc']:.4f})")
    return rows


# ---------------------------------------------------------------------------------------------
# Retrieval: cosine nearest neighbours of windows and frames, against chance.
# ---------------------------------------------------------------------------------------------


def _to_windows(z, image, position, n_windows: int):
    """Frames (M, F) of images with positions 0..T_i-1 -> windows (N*T', F) as window-to-instance
    pools them, with their image and window position."""
    ids, inv = torch.unique(image, return_inverse=True)
    lengths = torch.bincount(inv, minlength=len(ids))
    t = int(position.max()) + 1
    seen = torch.zeros(len(ids), t, dtype=torch.long).index_put_((inv, position), torch.tensor(1), accumulate=True)
    if not torch.equal(seen, lengths_to_mask(lengths, t).long()):
        raise ValueError("retrieval_diagnostics: the positions of each image must be 0..T_i-1, each once")
    p = torch.zeros(len(ids), t, z.size(1), dtype=z.dtype).index_put_((inv, position), z)
    inst = window_to_instance(p, lengths, n_windows)
    return inst.z, ids[inst.image_index], inst.position


def _normalize(z: torch.Tensor) -> torch.Tensor:
    return z / z.norm(dim=1, keepdim=True).clamp_min(1e-12)


def _mean_cosine_across_images(z: torch.Tensor, image: torch.Tensor) -> float:
    """Mean cosine over all pairs of instances from different images (closed form, no M x M)."""
    zn = _normalize(z.double())
    _, inv = torch.unique(image, return_inverse=True)
    per_image = torch.zeros(int(inv.max()) + 1, z.size(1), dtype=torch.float64).index_add_(0, inv, zn)
    counts = torch.bincount(inv).double()
    pairs = float(len(zn) ** 2 - (counts**2).sum())
    return float((zn.sum(0).square().sum() - per_image.square().sum()) / pairs) if pairs else float("nan")


def _nearest(z, image, queries, candidates, other_image: bool, seed: int, chunk: int = 1024) -> torch.Tensor:
    """Index of each query's most cosine-similar candidate (itself excluded; with ``other_image``
    every instance of its own image too); -1 when none is eligible. Ties are broken at random."""
    out = torch.full((len(queries),), -1, dtype=torch.long)
    if not len(candidates):
        return out
    zn = _normalize(z.float())
    cand = candidates[torch.randperm(len(candidates), generator=torch.Generator().manual_seed(seed))]
    zc, ic = zn[cand], image[cand]
    for s in range(0, len(queries), chunk):
        q = queries[s : s + chunk]
        sim = zn[q] @ zc.T
        sim.masked_fill_((image[q, None] == ic[None]) if other_image else (q[:, None] == cand[None]), float("-inf"))
        best = sim.argmax(1)
        ok = torch.isfinite(sim.gather(1, best[:, None]).squeeze(1))
        out[s : s + chunk] = torch.where(ok, cand[best], -1)
    return out


def _random_match_rate(attr, image, queries, candidates, other_image: bool) -> float:
    """Chance: P(attr[c] == attr[q]) for c uniform over q's eligible candidates, mean over queries."""
    a_c, i_c = attr[candidates].tolist(), image[candidates].tolist()
    n_attr, n_img, n_pair = Counter(a_c), Counter(i_c), Counter(zip(i_c, a_c))
    in_cand = set(candidates.tolist())
    rates = []
    for q in queries.tolist():
        a, i = int(attr[q]), int(image[q])
        if other_image:
            same, total = n_attr[a] - n_pair[(i, a)], len(a_c) - n_img[i]
        else:
            own = int(q in in_cand)
            same, total = n_attr[a] - own, len(a_c) - own
        if total > 0:
            rates.append(same / total)
    return sum(rates) / len(rates) if rates else float("nan")


def _match_figure(attr, image, queries, candidates, nn, other_image: bool) -> dict:
    """{value: fraction of queries whose neighbour shares ``attr``, chance, n: queries scored}."""
    ok = nn >= 0
    hits = attr[nn[ok]] == attr[queries[ok]]
    value = float(hits.float().mean()) if len(hits) else float("nan")
    return {"value": value, "chance": _random_match_rate(attr, image, queries, candidates, other_image), "n": int(ok.sum())}


def retrieval_diagnostics(
    feats: torch.Tensor,
    char_of_frame: torch.Tensor,
    image_of_frame: torch.Tensor,
    position_of_frame: torch.Tensor,
    n_windows: int = 5,
    seed: int = 0,
) -> dict[str, dict]:
    """Cosine retrieval figures of real frames feats (M, F) (e.g. FrameFeatures.flat()), each
    {"value", "chance", "n"}; chance = what a uniformly random eligible neighbour scores here.

    Windows (frames of each image pooled to T' = ``n_windows``, as window-to-instance):
    window_mean_cosine_other_images (chance: 0, isotropic directions); window_nn_same_image
    (nearest other window, any image); window_nn_same_position (nearest window in ANOTHER image at
    the same window index; chance 1/T'). Frames: frame_mean_cosine_other_images; frame_nn_same_image;
    and, for frames on a character (char >= 0) with neighbours among such frames of OTHER images,
    frame_nn_same_character and frame_nn_same_position."""
    z = torch.as_tensor(feats).detach().float().cpu()
    char, image, pos = (torch.as_tensor(a).long().cpu() for a in (char_of_frame, image_of_frame, position_of_frame))
    if z.dim() != 2 or not len(z) == len(char) == len(image) == len(pos):
        raise ValueError(f"retrieval_diagnostics: feats (M, F) and three (M,) arrays expected, got {tuple(z.shape)}, "
                         f"{len(char)}, {len(image)}, {len(pos)}")
    wz, wi, wp = _to_windows(z, image, pos, n_windows)
    w_all, f_all = torch.arange(len(wz)), torch.arange(len(z))
    on = torch.nonzero(char >= 0).flatten()
    nn_w = _nearest(wz, wi, w_all, w_all, False, seed)
    nn_w_other = _nearest(wz, wi, w_all, w_all, True, seed)
    nn_f = _nearest(z, image, f_all, f_all, False, seed)
    nn_c = _nearest(z, image, on, on, True, seed)
    return {
        "window_mean_cosine_other_images": {"value": _mean_cosine_across_images(wz, wi), "chance": 0.0, "n": len(wz)},
        "window_nn_same_image": _match_figure(wi, wi, w_all, w_all, nn_w, False),
        "window_nn_same_position": _match_figure(wp, wi, w_all, w_all, nn_w_other, True),
        "frame_mean_cosine_other_images": {"value": _mean_cosine_across_images(z, image), "chance": 0.0, "n": len(z)},
        "frame_nn_same_image": _match_figure(image, image, f_all, f_all, nn_f, False),
        "frame_nn_same_character": _match_figure(char, image, on, on, nn_c, True),
        "frame_nn_same_position": _match_figure(pos, image, on, on, nn_c, True),
    }


# ---------------------------------------------------------------------------------------------
# One encoder's figures, and the command line.
# ---------------------------------------------------------------------------------------------


def diagnose(
    encoder,
    val_set: Sequence[dict],
    train_set: Sequence[dict] | None = None,
    representation: str = "H",
    n_windows: int = 5,
    probe_steps: int = 300,
    device: str | torch.device = "cpu",
    seed: int = 0,
) -> dict[str, dict]:
    """retrieval_diagnostics of ``encoder``'s frozen frames on ``val_set``, plus probe_acc and
    probe_cer (chance None) of a linear probe trained on ``train_set`` when one is given."""
    va = frame_features(encoder, val_set, representation, device=device)
    out = retrieval_diagnostics(*va.flat(), n_windows=n_windows, seed=seed)
    if train_set is not None:
        tr = frame_features(encoder, train_set, representation, device=device, charset=va.charset)
        m = linear_probe(tr.feats, tr.labels, va.feats, va.labels, va.charset, steps=probe_steps,
                         train_lengths=tr.lengths, val_lengths=va.lengths, seed=seed, device=device)
        out["probe_acc"] = {"value": m["acc"], "chance": None, "n": m["n"]}
        out["probe_cer"] = {"value": m["cer"], "chance": None, "n": m["n"]}
        out["probe_train_acc"] = {"value": m["train_acc"], "chance": None, "n": len(tr.labels)}
    return out


def format_side_by_side(figures: dict[str, dict[str, dict]]) -> str:
    """A text table: one row per figure, one column per encoder (``figures`` = {name: diagnose()}),
    then the chance level (data-only, so the same for every encoder)."""
    names = list(figures)
    first = figures[names[0]]
    rows = [f"{'figure':34s}" + "".join(f"{n:>14s}" for n in names) + f"{'chance':>10s}"]
    for key, fig in first.items():
        chance = "-" if fig["chance"] is None else f"{fig['chance']:.4f}"
        rows.append(f"{key:34s}" + "".join(f"{figures[n][key]['value']:14.4f}" for n in names) + f"{chance:>10s}")
    return "\n".join(rows)


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m seqclr.evaluate.diagnostics", description=__doc__.split("\n\n")[0])
    ap.add_argument("--encoder", required=True, help="encoder.pt, a training checkpoint or a run folder")
    ap.add_argument("--random", default="same", help="preset of the random encoder ('same': the encoder's architecture)")
    ap.add_argument("--data", default="synthetic-handwriting", choices=SYNTHETIC_SOURCES)
    ap.add_argument("--benchmark", default=None, help="a seqclr.data.benchmarks name (default: the style's)")
    ap.add_argument("--split", default="val")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--data-seed", type=int, default=0)
    ap.add_argument("--charset", default=None, help="default: the pretraining config's, else english95")
    ap.add_argument("--representation", default="H", choices=REPRESENTATIONS)
    ap.add_argument("--n-windows", type=int, default=None, help="T' (default: the pretraining config's n_instances, else 5)")
    ap.add_argument("--probe-train-size", type=int, default=0, help="train-split images for a linear probe (0: no probe)")
    ap.add_argument("--probe-steps", type=int, default=300)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0, help="seed of the probe and of the tie-breaking")
    ap.add_argument("--random-seed", type=int, default=None,
                    help="seed of the random encoder (default: the pretraining seed: the run's own step-0 encoder)")
    ap.add_argument("--out", default=None, help="JSON path (default: <encoder folder>/diagnostics_<split>.json)")
    return ap.parse_args(argv)


def _word_set(args: argparse.Namespace, split: str, size: int, charset: str):
    source = build_source(args.data, split=split, size=size, seed=args.data_seed, charset=charset, benchmark=args.benchmark)
    return WordDataset(source, charset)


def _random_encoder(preset: str, like, seed: int):
    """A random encoder of ``preset`` ("same": ``like``'s architecture). Pretraining seeds torch with
    its seed, then builds the encoder first, so with that seed this IS the run's step-0 encoder."""
    cfg = EncoderConfig(**like.cfg.to_dict()) if preset == "same" else get_encoder_config(preset)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return SequenceEncoder(cfg).eval()


@guarded
def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    start = time.time()
    pretrained = load_frozen_encoder(args.encoder)
    pre_cfg = getattr(pretrained, "pretrain_config", None) or {}
    charset = args.charset or pre_cfg.get("charset", "english95")
    n_windows = args.n_windows or int(pre_cfg.get("n_instances", 5))
    val_set = _word_set(args, args.split, args.size, charset)
    train_set = _word_set(args, "train", args.probe_train_size, charset) if args.probe_train_size > 0 else None
    random_seed = args.random_seed if args.random_seed is not None else int(pre_cfg.get("seed", 0))
    encoders = {"pretrained": pretrained, f"random ({args.random})": _random_encoder(args.random, pretrained, random_seed)}
    figures = {
        name: diagnose(enc, val_set, train_set, args.representation, n_windows, args.probe_steps, args.device, args.seed)
        for name, enc in encoders.items()
    }
    print(f"{args.representation} frames of {len(val_set)} {args.data} ({args.benchmark or 'default benchmark'}) "
          f"{args.split} images; T' = {n_windows}")
    print(format_side_by_side(figures))
    enc_path = Path(args.encoder)
    folder = enc_path if enc_path.is_dir() else enc_path.parent
    out = Path(args.out) if args.out else folder / f"diagnostics_{args.split}.json"
    report = {
        "encoder": str(args.encoder), "random": args.random, "random_seed": random_seed, "data": args.data,
        "benchmark": args.benchmark, "split": args.split, "size": len(val_set), "charset": charset,
        "probe_train_size": args.probe_train_size, "representation": args.representation, "n_windows": n_windows,
        "seconds": round(time.time() - start, 2), "figures": figures,
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
