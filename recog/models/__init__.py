"""The model: front end -> stacked bidirectional recurrent encoder -> linear -> output
(``model.output``: CTC log-probs, per-sequence or per-frame classes, or regression; see heads)."""

from __future__ import annotations

import torch
from torch import nn

from ..config import Config
from ..features import feature_dim
from .frontends import ConvFrontend, StackFrontend
from .heads import Head, check_frame_rate, per_frame, valid_mask
from .init import initialise
from .latency import lc_encode
from .mlp import FramewiseMLP
from .rnn import RecurrentEncoder, align


class CTCModel(nn.Module):
    """The recogniser; despite the name (kept: model files and callers know it), any output type."""

    def __init__(self, cfg: Config, num_classes: int):
        super().__init__()
        m = cfg.model
        in_dim = feature_dim(cfg.features)
        if m.frontend == "cnn":
            if cfg.features.modality != "image":
                raise ValueError("model.frontend=cnn expects features.modality=image")
            self.frontend = ConvFrontend(in_dim, m.cnn_channels, m.cnn_pool, m.cnn_dropout, m.cnn_residual)
        else:
            self.frontend = StackFrontend(in_dim, m.stack if m.frontend == "stack" else 1, m.subsample if m.frontend == "stack" else 1)
        if m.cell == "mlp":  # the non-recurrent baseline (framewise classification)
            self.encoder = FramewiseMLP(self.frontend.output_size, m.hidden, m.layers, m.context, m.dropout)
        else:
            self.encoder = RecurrentEncoder(m.cell, self.frontend.output_size, m.hidden, m.layers, m.bidirectional,
                                            m.dropout)
        self.dropout = nn.Dropout(m.dropout)
        self.output = nn.Linear(self.encoder.output_size, num_classes)
        self.num_classes = num_classes
        self.kind = m.output
        self.per_frame = per_frame(m.output, m.regression)
        if self.per_frame and m.output != "ctc":
            check_frame_rate(self.frontend, f"model.output={m.output}" + (" with model.regression=frame"
                                                                          if m.output == "regression" else ""))
        self.head = Head(m.output, m.pool, m.regression, m.hidden if m.bidirectional and m.cell != "mlp" else None)
        n = cfg.data.sequence_length
        self.chunk = n if isinstance(n, int) else 0
        # latency-controlled BLSTM (model.chunk, model.right_context; see .latency): 0 = off
        self.lc_chunk, self.lc_right = (m.chunk, m.right_context) if m.bidirectional and m.cell != "mlp" else (0, 0)
        initialise(self, m.init)

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.frontend.output_lengths(lengths)

    def _front(self, x: torch.Tensor, lengths: torch.Tensor, padding: str) -> tuple[torch.Tensor, torch.Tensor]:
        """The front end's windows (stacking, convolutions, pooling) start at each sequence's first
        frame and its convolutions read zeros past the end: a left-padded batch, or padding of
        another value, is re-aligned and zeroed for it, and put back on its side afterwards."""
        f = self.frontend
        if isinstance(f, StackFrontend) and f.stack == 1 and f.subsample == 1:
            return x, lengths
        if padding == "left":
            x = align(x, lengths, "right")
        x = torch.where(valid_mask(lengths, x.shape[1], x.device).unsqueeze(-1), x, 0.0)
        x, lengths = f(x, lengths)
        return (align(x, lengths, "left") if padding == "left" else x), lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, padding: str = "right"
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) features padded on the ``padding`` side, lengths: (B,).  Returns the
        outputs and the output lengths (B,): log-probs (B, T', V) for CTC, whatever the input's
        padding with each sequence's valid frames first (so losses and decoders read them as
        they are); see :mod:`.heads` for the other output types."""
        x, lengths = self._front(x, lengths, padding)
        if self.lc_chunk:
            x = lc_encode(self.encoder, x, lengths, padding, self.lc_chunk, self.lc_right)
        else:
            x = self.encoder(x, lengths, padding, self.chunk)
        if padding == "left":
            x = align(x, lengths, "right")
        # log-softmax in float32 even under bf16 autocast: CTC sums many small log-probabilities
        return self.head(self.output, self.dropout, x, lengths), lengths


def build_model(cfg: Config, num_classes: int) -> CTCModel:
    """``num_classes``: the symbol table's size (blank included); for regression the target's dimension."""
    return CTCModel(cfg, num_classes)
