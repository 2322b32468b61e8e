"""The model: front end -> stacked bidirectional recurrent encoder -> linear -> log-softmax."""

from __future__ import annotations

import torch
from torch import nn

from ..config import Config
from ..features import feature_dim
from .frontends import ConvFrontend, StackFrontend
from .rnn import RecurrentEncoder


class CTCModel(nn.Module):
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
        self.encoder = RecurrentEncoder(m.cell, self.frontend.output_size, m.hidden, m.layers, m.bidirectional, m.dropout)
        self.dropout = nn.Dropout(m.dropout)
        self.output = nn.Linear(self.encoder.output_size, num_classes)
        self.num_classes = num_classes

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.frontend.output_lengths(lengths)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, T, D) padded features, lengths: (B,). Returns log-probs (B, T', V) and lengths (B,)."""
        x, lengths = self.frontend(x, lengths)
        x = self.encoder(x, lengths)
        # log-softmax in float32 even under bf16 autocast: CTC sums many small log-probabilities
        return torch.log_softmax(self.output(self.dropout(x)).float(), dim=-1), lengths


def build_model(cfg: Config, num_classes: int) -> CTCModel:
    return CTCModel(cfg, num_classes)
