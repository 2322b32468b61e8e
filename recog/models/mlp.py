"""A framewise multilayer perceptron: the non-recurrent baseline of framewise phone classification
(Graves & Schmidhuber 2005 compare BLSTM and LSTM with an MLP that sees a window of frames).

Layer 1 reads a window of 2w + 1 frames centred on each frame (``model.context: w``), as a
convolution over time of kernel 2w + 1; every further layer is per frame:

    h1_t = tanh(W1 [x_{t-w}; ...; x_{t+w}] + b1),   h(l+1)_t = tanh(W(l+1) hl_t + b(l+1))

Frames outside a sequence (before its start, past its end) read as zeros, whatever the padding
side and value of the batch, so every utterance's outputs are those it would get on its own.  It
has the recurrent encoder's interface (``forward(x, lengths, padding, chunk)``, ``output_size``);
``chunk`` is accepted and ignored (the outputs do not depend on it: nothing is carried).
"""

from __future__ import annotations

import torch
from torch import nn

from .rnn import align


class FramewiseMLP(nn.Module):
    def __init__(self, input_size: int, hidden: int, layers: int, context: int, dropout: float):
        super().__init__()
        if layers < 1 or context < 0:
            raise ValueError("an MLP needs model.layers >= 1 and model.context >= 0")
        self.context = context
        self.first = nn.Conv1d(input_size, hidden, 2 * context + 1, padding=context)
        self.rest = nn.ModuleList(nn.Linear(hidden, hidden) for _ in range(layers - 1))
        self.drop = nn.Dropout(dropout)
        self.output_size = hidden

    def forward(self, x: torch.Tensor, lengths: torch.Tensor, padding: str = "right", chunk: int = 0) -> torch.Tensor:
        """(B, T, D) padded on the ``padding`` side -> (B, T, hidden) in the same layout."""
        if padding == "left":
            x = align(x, lengths, "right")
        valid = (torch.arange(x.shape[1], device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)).unsqueeze(-1)
        x = torch.where(valid, x, 0.0)
        h = torch.tanh(self.first(x.transpose(1, 2)).transpose(1, 2))
        for layer in self.rest:
            h = torch.tanh(layer(self.drop(h)))
        return align(h, lengths, "left") if padding == "left" else h
