"""Stage 3: sequence modeling, a stack of BiLSTMs with a linear output (deep-text-recognition-
benchmark's BidirectionalLSTM) that yields the contextual features H from the visual features V.

Variable lengths: sequences are packed (``pack_padded_sequence``) so that the backward direction of
image i starts at its last real frame T_i - 1, and padded frames never leak into real frames.
Padded output frames are set to zero.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """(N,) lengths -> (N, max_len) bool mask, True on real frames."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def check_lengths(lengths: torch.Tensor, n: int, t: int, where: str) -> torch.Tensor:
    """Validate (N,) frame counts against a (N, T, F) sequence; returns int64 lengths."""
    if lengths.dim() != 1 or lengths.numel() != n:
        raise ValueError(f"{where}: lengths must have shape ({n},), got {tuple(lengths.shape)}")
    if n and (int(lengths.min()) < 1 or int(lengths.max()) > t):
        raise ValueError(f"{where}: lengths must be in [1, {t}], got min {int(lengths.min())} max {int(lengths.max())}")
    return lengths.long()


def run_packed_lstm(rnn: nn.LSTM, x: torch.Tensor, lengths: torch.Tensor | None) -> torch.Tensor:
    """Run a batch_first LSTM on (N, T, F) honouring lengths; padded outputs are zero."""
    if lengths is None or bool((lengths == x.size(1)).all()):
        out, _ = rnn(x)
        return out
    packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
    out, _ = rnn(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
    return out


class BidirectionalLSTM(nn.Module):
    """BiLSTM (hidden units per direction) followed by a per-frame linear layer to ``output_size``."""

    def __init__(self, input_size: int, hidden_size: int, output_size: int) -> None:
        super().__init__()
        self.rnn = nn.LSTM(input_size, hidden_size, bidirectional=True, batch_first=True)
        self.linear = nn.Linear(hidden_size * 2, output_size)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        out = self.linear(run_packed_lstm(self.rnn, x, lengths))
        if lengths is not None:
            out = out * lengths_to_mask(lengths, x.size(1)).unsqueeze(-1).to(out.dtype)
        return out


class SequenceModeling(nn.Module):
    """``num_layers`` BidirectionalLSTM layers of ``hidden`` units; output dim = hidden.

    num_layers = 0 gives the identity (no sequence modeling: H = V)."""

    def __init__(self, input_size: int, hidden: int = 256, num_layers: int = 2) -> None:
        super().__init__()
        if num_layers < 0 or hidden < 1:
            raise ValueError(f"sequence_modeling.py: need num_layers >= 0 and hidden >= 1, got {num_layers}, {hidden}")
        dims = [input_size] + [hidden] * num_layers
        self.layers = nn.ModuleList(BidirectionalLSTM(dims[i], hidden, hidden) for i in range(num_layers))
        self.out_dim = hidden if num_layers else input_size

    def forward(self, v: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        h = v
        for layer in self.layers:
            h = layer(h, lengths)
        return h
