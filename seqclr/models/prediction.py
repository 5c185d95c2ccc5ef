"""Prediction, the fourth stage of the recognizer (section 3, appendix A.2/A.3): text decoders on a
sequential feature map F in {V, H, (H, V)}, and the full Recognizer = encoder + decoder.

Class indices. The charset gives each symbol an id 0..n-1; each decoder adds its own special
tokens in front (appendix D):
- CTC: index 0 = "[blank]", symbol i -> i + 1 (n + 1 outputs);
- attention: index 0 = "[GO]" (the paper's "[S]"), 1 = "[EOS]" ("[EOW]"), symbol i -> i + 2
  (n + 2 outputs; "[GO]" is never a target, it only feeds the first step).
Decoders take and return charset ids (lists of ints) so callers never see the shifted indices.

Both decoders expose the same calls used by :class:`Recognizer`:
``compute_loss(F, lengths, targets) -> scalar``, ``decode(F, lengths) -> list[list[int]]`` and
``decode_with_confidence(F, lengths) -> list[(ids, per-id probabilities)]``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
import torch.nn.functional as nnf
from torch import nn

from seqclr.data.reading import read_images
from seqclr.models.encoder import REPRESENTATIONS, EncoderOutput, SequenceEncoder
from seqclr.models.sequence_modeling import lengths_to_mask

DECODERS = ("ctc", "attention")  # a decoder reads one of the encoder's REPRESENTATIONS
CTC_BLANK = 0
ATTN_GO, ATTN_EOS = 0, 1


def _check_features(features: torch.Tensor, lengths: torch.Tensor, in_dim: int, where: str) -> torch.Tensor:
    if features.dim() != 3 or features.size(2) != in_dim:
        raise ValueError(f"{where}: expected features (N, T, {in_dim}), got {tuple(features.shape)}")
    lengths = torch.as_tensor(lengths, device=features.device).long()
    n, t = features.shape[:2]
    if lengths.shape != (n,):
        raise ValueError(f"{where}: lengths must have shape ({n},), got {tuple(lengths.shape)}")
    if n and (int(lengths.min()) < 1 or int(lengths.max()) > t):
        raise ValueError(f"{where}: lengths must be in [1, {t}] (frames), got {lengths.tolist()}")
    return lengths


def _check_targets(targets: Sequence[Sequence[int]], n: int, n_classes: int, where: str) -> list[list[int]]:
    if len(targets) != n:
        raise ValueError(f"{where}: {len(targets)} targets for a batch of {n}")
    out = []
    for i, t in enumerate(targets):
        t = [int(c) for c in t]
        if any(not 0 <= c < n_classes for c in t):
            raise ValueError(f"{where}: target {i} {t} has ids outside the charset range 0..{n_classes - 1}")
        out.append(t)
    return out


def ctc_frames_needed(target: Sequence) -> int:
    """The fewest frames a CTC path for ``target`` (a label or its ids) needs: one per symbol,
    plus the blank that must separate each pair of equal adjacent symbols ("hello": 5 + 1 = 6)."""
    target = list(target)
    return len(target) + sum(a == b for a, b in zip(target, target[1:]))


def ctc_frames_needed_batch(flat: torch.Tensor, target_lengths: torch.Tensor) -> torch.Tensor:
    """:func:`ctc_frames_needed` of every target at once: ``flat`` the concatenated ids,
    ``target_lengths`` (N,) their lengths; equal neighbours count only inside one target."""
    owner = torch.repeat_interleave(torch.arange(len(target_lengths)), target_lengths)
    repeat = (flat[1:] == flat[:-1]) & (owner[1:] == owner[:-1])
    return target_lengths + torch.zeros_like(target_lengths).index_add_(0, owner[1:], repeat.long())


def ctc_collapse(path: Sequence[int], blank: int = CTC_BLANK) -> list[int]:
    """The CTC mapping phi of eq. 3: merge repeated labels, then delete blanks
    ("aa-a-bbb-cc-ccc-" -> "aabcc")."""
    out: list[int] = []
    prev = None
    for c in path:
        c = int(c)
        if c != prev and c != blank:
            out.append(c)
        prev = c
    return out


def ctc_collapse_scores(
    path: Sequence[int], scores: Sequence[float], blank: int = CTC_BLANK
) -> tuple[list[int], list[float]]:
    """:func:`ctc_collapse` of ``path`` with one score per kept label: the highest of ``scores``
    (per frame) over the run of frames that merged into it."""
    out: list[int] = []
    best: list[float] = []
    prev = None
    for c, s in zip(path, scores):
        c, s = int(c), float(s)
        if c != blank:
            if c != prev:
                out.append(c)
                best.append(s)
            else:
                best[-1] = max(best[-1], s)
        prev = c
    return out, best


class CTCDecoder(nn.Module):
    """Per-frame fully connected layer to n_classes + 1 scores (appendix A.2), CTC loss and
    greedy (best path) decoding."""

    def __init__(self, in_dim: int, n_classes: int) -> None:
        super().__init__()
        if in_dim < 1 or n_classes < 1:
            raise ValueError(f"CTCDecoder: in_dim and n_classes must be >= 1, got {in_dim}, {n_classes}")
        self.in_dim, self.n_classes = in_dim, n_classes
        self.fc = nn.Linear(in_dim, n_classes + 1)
        self.ctc = nn.CTCLoss(blank=CTC_BLANK, reduction="mean", zero_infinity=True)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        """(N, T, in_dim) -> logits (N, T, n_classes + 1); index 0 is the blank."""
        return self.fc(features)

    def loss(self, logits: torch.Tensor, lengths: torch.Tensor, targets: Sequence[Sequence[int]]) -> torch.Tensor:
        """Mean CTC loss (per target length, as torch's reduction="mean") of charset-id ``targets``
        given ``lengths`` real frames per item. Infeasible alignments (a target needing more frames
        than it has, :func:`ctc_frames_needed`) give 0 instead of inf (zero_infinity, a safety net
        so one bad sample cannot poison a batch) and a warning: such an item does not train. The
        recognizer protocols exclude these words before training (seqclr.evaluate.data)."""
        lengths = _check_features(logits, lengths, self.n_classes + 1, "CTCDecoder.loss")
        targets = _check_targets(targets, logits.size(0), self.n_classes, "CTCDecoder.loss")
        target_lengths = torch.tensor([len(t) for t in targets], dtype=torch.long)
        flat = torch.tensor([c + 1 for t in targets for c in t], dtype=torch.long)
        needed = ctc_frames_needed_batch(flat, target_lengths)
        frames = lengths.cpu()
        bad = (needed > frames).nonzero().flatten()
        if len(bad):
            i = int(bad[0])
            warnings.warn(
                f"CTCDecoder.loss: {len(bad)} of {len(targets)} targets cannot fit their frames (e.g. item {i}: "
                f"{int(needed[i])} frames needed, {int(frames[i])} available); their loss is 0 and they "
                "do not train: exclude them before training",
                stacklevel=2,
            )
        device = logits.device
        log_probs = nnf.log_softmax(logits.float(), dim=-1).transpose(0, 1)  # (T, N, C)
        return self.ctc(log_probs, flat.to(device), lengths, target_lengths.to(device))

    @torch.no_grad()
    def greedy_decode(self, logits: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        """Best path c = argmax per frame (eq. 2) over the real frames, then phi (eq. 3);
        returns charset ids."""
        lengths = _check_features(logits, lengths, self.n_classes + 1, "CTCDecoder.greedy_decode")
        best = logits.argmax(dim=-1).cpu()
        return [[c - 1 for c in ctc_collapse(best[i, : int(n)].tolist())] for i, n in enumerate(lengths.tolist())]

    @torch.no_grad()
    def greedy_decode_with_confidence(
        self, logits: torch.Tensor, lengths: torch.Tensor
    ) -> list[tuple[list[int], list[float]]]:
        """:meth:`greedy_decode`'s charset ids, each with its confidence: the softmax probability
        of its label on the best path, the highest over the frames that merged into it."""
        lengths = _check_features(logits, lengths, self.n_classes + 1, "CTCDecoder.greedy_decode_with_confidence")
        best = logits.argmax(dim=-1)
        probs = nnf.softmax(logits.float(), dim=-1).gather(-1, best.unsqueeze(-1)).squeeze(-1).cpu()
        best = best.cpu()
        out = []
        for i, n in enumerate(lengths.tolist()):
            ids, conf = ctc_collapse_scores(best[i, : int(n)].tolist(), probs[i, : int(n)].tolist())
            out.append(([c - 1 for c in ids], conf))
        return out

    def compute_loss(self, features: torch.Tensor, lengths: torch.Tensor, targets: Sequence[Sequence[int]]) -> torch.Tensor:
        return self.loss(self(features), lengths, targets)

    def decode(self, features: torch.Tensor, lengths: torch.Tensor) -> list[list[int]]:
        return self.greedy_decode(self(features), lengths)

    def decode_with_confidence(self, features: torch.Tensor, lengths: torch.Tensor) -> list[tuple[list[int], list[float]]]:
        return self.greedy_decode_with_confidence(self(features), lengths)


class AttentionDecoder(nn.Module):
    """Additive-attention LSTM decoder (appendix A.3, as in deep-text-recognition-benchmark).

    At step t': e = a^T tanh(W s_{t'-1} + V f_t + b) over the real frames (padded frames masked
    out), alpha = softmax(e), g = sum alpha_t f_t, (x, s) = LSTMCell([g, onehot(y_{t'-1})], s),
    scores = W0 x + b0. Training uses teacher forcing (y_{t'-1} = the true previous symbol) and the
    negative log-likelihood of the targets followed by [EOS]; inference is greedy from [GO] for up
    to ``max_len`` symbols plus [EOS].
    """

    def __init__(self, in_dim: int, n_classes: int, hidden: int = 256, max_len: int = 25) -> None:
        super().__init__()
        if in_dim < 1 or n_classes < 1 or hidden < 1 or max_len < 1:
            raise ValueError(
                f"AttentionDecoder: in_dim, n_classes, hidden and max_len must be >= 1, "
                f"got {in_dim}, {n_classes}, {hidden}, {max_len}"
            )
        self.in_dim, self.n_classes, self.hidden, self.max_len = in_dim, n_classes, hidden, max_len
        self.n_tokens = n_classes + 2
        self.i2h = nn.Linear(in_dim, hidden, bias=False)  # V f_t
        self.h2h = nn.Linear(hidden, hidden)  # W s + b
        self.score = nn.Linear(hidden, 1, bias=False)  # a^T
        self.rnn = nn.LSTMCell(in_dim + self.n_tokens, hidden)
        self.generator = nn.Linear(hidden, self.n_tokens)  # W0, b0

    def _step(self, feats_proj, features, mask, prev_token, state):
        s_prev = state[0]
        e = self.score(torch.tanh(feats_proj + self.h2h(s_prev).unsqueeze(1))).squeeze(-1)  # (N, T)
        e = e.masked_fill(~mask, float("-inf"))
        alpha = torch.softmax(e, dim=1)
        g = torch.bmm(alpha.unsqueeze(1), features).squeeze(1)  # (N, in_dim)
        onehot = nnf.one_hot(prev_token, self.n_tokens).to(features.dtype)
        state = self.rnn(torch.cat([g, onehot], dim=1), state)
        return self.generator(state[0]), state, alpha

    def _init(self, features: torch.Tensor, lengths: torch.Tensor):
        n, t = features.shape[:2]
        mask = lengths_to_mask(lengths, t)
        zeros = features.new_zeros(n, self.hidden)
        return self.i2h(features), mask, (zeros, zeros.clone())

    def forward(
        self,
        features: torch.Tensor,
        lengths: torch.Tensor,
        targets: Sequence[Sequence[int]] | None = None,
        max_len: int | None = None,
    ) -> torch.Tensor:
        """Scores (N, S, n_classes + 2). With ``targets`` (charset ids): teacher forcing,
        S = longest target + 1 (the [EOS] step). Without: greedy, S = max_len + 1."""
        lengths = _check_features(features, lengths, self.in_dim, "AttentionDecoder")
        feats_proj, mask, state = self._init(features, lengths)
        n = features.size(0)
        go = torch.full((n,), ATTN_GO, dtype=torch.long, device=features.device)
        outputs = []
        if targets is not None:
            targets = _check_targets(targets, n, self.n_classes, "AttentionDecoder")
            steps = max((len(t) for t in targets), default=0) + 1
            inputs = torch.full((n, steps), ATTN_EOS, dtype=torch.long)
            for i, t in enumerate(targets):
                inputs[i, 1 : len(t) + 1] = torch.tensor([c + 2 for c in t], dtype=torch.long)
            inputs[:, 0] = ATTN_GO
            inputs = inputs.to(features.device)
            for k in range(steps):
                scores, state, _ = self._step(feats_proj, features, mask, inputs[:, k], state)
                outputs.append(scores)
        else:
            steps = (max_len or self.max_len) + 1
            prev = go
            for _ in range(steps):
                scores, state, _ = self._step(feats_proj, features, mask, prev, state)
                outputs.append(scores)
                prev = scores.argmax(dim=1)
        return torch.stack(outputs, dim=1)

    def loss(self, scores: torch.Tensor, targets: Sequence[Sequence[int]]) -> torch.Tensor:
        """NLL (mean over all target symbols and [EOS]) of teacher-forced ``scores``."""
        targets = _check_targets(targets, scores.size(0), self.n_classes, "AttentionDecoder.loss")
        steps = scores.size(1)
        gold = torch.full((len(targets), steps), -100, dtype=torch.long)
        for i, t in enumerate(targets):
            if len(t) + 1 > steps:
                raise ValueError(f"AttentionDecoder.loss: target {i} needs {len(t) + 1} steps, scores have {steps}")
            gold[i, : len(t)] = torch.tensor([c + 2 for c in t], dtype=torch.long)
            gold[i, len(t)] = ATTN_EOS
        log_probs = nnf.log_softmax(scores.float(), dim=-1)
        return nnf.nll_loss(log_probs.reshape(-1, self.n_tokens), gold.to(scores.device).reshape(-1), ignore_index=-100)

    def compute_loss(self, features: torch.Tensor, lengths: torch.Tensor, targets: Sequence[Sequence[int]]) -> torch.Tensor:
        return self.loss(self(features, lengths, targets), targets)

    @torch.no_grad()
    def decode(self, features: torch.Tensor, lengths: torch.Tensor, max_len: int | None = None) -> list[list[int]]:
        """Greedy decoding; each sequence is cut at its first [EOS] (or after max_len symbols).
        A stray [GO] prediction is dropped."""
        return [ids for ids, _ in self.decode_with_confidence(features, lengths, max_len)]

    @torch.no_grad()
    def decode_with_confidence(
        self, features: torch.Tensor, lengths: torch.Tensor, max_len: int | None = None
    ) -> list[tuple[list[int], list[float]]]:
        """:meth:`decode`'s charset ids, each with the softmax probability of its step."""
        scores = self(features, lengths, max_len=max_len)
        best = scores.argmax(dim=-1)
        probs = nnf.softmax(scores.float(), dim=-1).gather(-1, best.unsqueeze(-1)).squeeze(-1).cpu().tolist()
        limit = max_len or self.max_len
        out = []
        for row, row_probs in zip(best.cpu().tolist(), probs):
            ids: list[int] = []
            conf: list[float] = []
            for tok, p in zip(row, row_probs):
                if tok == ATTN_EOS or len(ids) >= limit:
                    break
                if tok != ATTN_GO:
                    ids.append(tok - 2)
                    conf.append(p)
            out.append((ids, conf))
        return out


def _representation_arg(where: str, representation: str | None, feature: str | None) -> str:
    """The representation a decoder reads: ``representation``, else the deprecated keyword
    ``feature`` (its old name, read for one release with a DeprecationWarning), else "H".
    Both given is a TypeError naming both; a name not in REPRESENTATIONS a ValueError."""
    if feature is not None:
        if representation is not None:
            raise TypeError(
                f"{where}: 'feature' and 'representation' are the same argument ('feature' is its old name): "
                "give only 'representation'"
            )
        warnings.warn(
            f"{where}: the keyword 'feature' is deprecated, use 'representation' (the old name is read until the next release)",
            DeprecationWarning, stacklevel=3,
        )  # fmt: skip
        representation = feature
    representation = "H" if representation is None else representation
    if representation not in REPRESENTATIONS:
        raise ValueError(f"{where}: representation {representation!r} not in {REPRESENTATIONS}")
    return representation


def build_decoder(kind: str, in_dim: int, n_classes: int, **kwargs) -> nn.Module:
    """"ctc" -> CTCDecoder, "attention" -> AttentionDecoder(**kwargs: hidden, max_len)."""
    if kind == "ctc":
        if kwargs:
            raise ValueError(f"build_decoder: 'ctc' takes no options, got {sorted(kwargs)}")
        return CTCDecoder(in_dim, n_classes)
    if kind == "attention":
        return AttentionDecoder(in_dim, n_classes, **kwargs)
    raise ValueError(f"build_decoder: unknown decoder kind {kind!r}; expected one of {DECODERS}")


class Recognizer(nn.Module):
    """Encoder f(.) + text decoder on F in {V, H, (H, V)}: ``representation`` "V", "H" or "HV"
    (``feature``, its old keyword, is read for one release with a DeprecationWarning).

    ``charset`` (a seqclr.data.charset.Charset) turns labels into ids and ids back into strings.
    ``freeze_encoder()`` implements the decoder-evaluation protocol: the encoder's parameters stop
    requiring gradients AND the encoder stays in eval mode even when ``train()`` is called, so
    batch-norm running statistics never move; its forward runs under no_grad.
    """

    def __init__(
        self,
        encoder: SequenceEncoder,
        decoder: nn.Module,
        representation: str | None = None,
        charset=None,
        *,
        feature: str | None = None,
    ) -> None:
        super().__init__()
        representation = _representation_arg("Recognizer", representation, feature)
        dim = encoder.representation_dim(representation)
        if getattr(decoder, "in_dim", dim) != dim:
            raise ValueError(f"Recognizer: decoder expects {decoder.in_dim}-dim frames, encoder's {representation} has {dim}")
        if charset is not None and getattr(decoder, "n_classes", len(charset)) != len(charset):
            raise ValueError(
                f"Recognizer: decoder has {decoder.n_classes} classes, charset {charset.name!r} has {len(charset)}"
            )
        self.encoder, self.decoder, self.representation, self.charset = encoder, decoder, representation, charset
        self.encoder_frozen = False

    @property
    def feature(self) -> str:
        """Deprecated: the former name of ``representation`` (read for one release)."""
        warnings.warn(
            "Recognizer.feature is deprecated, use Recognizer.representation (the old name is read until the next release)",
            DeprecationWarning, stacklevel=2,
        )  # fmt: skip
        return self.representation

    def freeze_encoder(self) -> "Recognizer":
        self.encoder_frozen = True
        for p in self.encoder.parameters():
            p.requires_grad_(False)
        self.encoder.eval()
        return self

    def train(self, mode: bool = True) -> "Recognizer":
        super().train(mode)
        if self.encoder_frozen:
            self.encoder.eval()
        return self

    def features(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(F, lengths): the chosen representation (N, T, F) and real frame counts (N,)."""
        if self.encoder_frozen:
            with torch.no_grad():
                out: EncoderOutput = self.encoder(images, widths)
        else:
            out = self.encoder(images, widths)
        return out.representation(self.representation), out.lengths

    def encode_labels(self, labels: Sequence[str] | Sequence[Sequence[int]]) -> list[list[int]]:
        """Charset ids of string labels (id lists pass through)."""
        out = []
        for label in labels:
            if isinstance(label, str):
                if self.charset is None:
                    raise ValueError("Recognizer: string labels need a charset")
                out.append(self.charset.encode(label))
            else:
                out.append([int(c) for c in label])
        return out

    def loss(
        self,
        images: torch.Tensor,
        labels: Sequence[str] | Sequence[Sequence[int]],
        widths: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """Training loss of a batch; ``labels`` are strings (encoded via the charset) or id lists."""
        feats, lengths = self.features(images, widths)
        return self.decoder.compute_loss(feats, lengths, self.encode_labels(labels))

    @torch.no_grad()
    def decode(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> list[list[int]]:
        feats, lengths = self.features(images, widths)
        return self.decoder.decode(feats, lengths)

    @torch.no_grad()
    def predict(self, images: torch.Tensor, widths: torch.Tensor | None = None) -> list[str]:
        """Predicted strings (call ``eval()`` first for inference-mode batch norm)."""
        if self.charset is None:
            raise ValueError("Recognizer.predict needs a charset")
        return [self.charset.decode(ids) for ids in self.decode(images, widths)]

    @torch.no_grad()
    def predict_with_confidence(
        self, images: torch.Tensor, widths: torch.Tensor | None = None
    ) -> list[tuple[str, list[float]]]:
        """(text, per-character confidences) per image, one probability in [0, 1] per character:
        CTC, the softmax probability of the character on the greedy (best) path, the highest over
        the frames merged into it; attention, the softmax probability of its decoding step."""
        if self.charset is None:
            raise ValueError("Recognizer.predict_with_confidence needs a charset")
        feats, lengths = self.features(images, widths)
        return [(self.charset.decode(ids), conf) for ids, conf in self.decoder.decode_with_confidence(feats, lengths)]

    def read(
        self, images, batch_size: int = 64, device: str | torch.device | None = None, confidence: bool = False
    ) -> list[str] | list[tuple[str, list[float]]]:
        """The strings read in ``images`` (PIL images, arrays or image file paths, any width),
        preprocessed like the training data (``self.preprocessing``, set by
        seqclr.evaluate.recognizer_file.load_recognizer / save_recognizer), ``batch_size`` at a time.
        ``confidence``: (text, per-character confidences) pairs (see :meth:`predict_with_confidence`)."""
        return read_images(self, images, batch_size=batch_size, device=device, confidence=confidence)


def build_recognizer(
    encoder: SequenceEncoder,
    decoder: str,
    charset,
    representation: str | None = None,
    *,
    feature: str | None = None,
    **decoder_kwargs,
) -> Recognizer:
    """Recognizer with a fresh ``decoder`` ("ctc" | "attention") sized for ``representation`` (one
    of REPRESENTATIONS, default "H"; ``feature`` is its deprecated old name) and ``charset``."""
    representation = _representation_arg("build_recognizer", representation, feature)
    head = build_decoder(decoder, encoder.representation_dim(representation), len(charset), **decoder_kwargs)
    return Recognizer(encoder, head, representation, charset=charset)
