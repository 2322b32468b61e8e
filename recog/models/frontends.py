"""Front ends: turn feature frames into encoder inputs and report the new lengths.

* ``ConvFrontend`` (images): the (width, height) column features are seen as a one-channel image;
  conv 3×3 + batch norm + leaky ReLU + max pooling blocks, then channels × remaining height
  becomes the per-column vector.  Columns past each line's end are zeroed after every block, so
  a line's output does not depend on what it is batched with.  ``residual[i]`` residual blocks
  (conv + BN + leaky ReLU + conv + BN, added to their input) follow block ``i`` before its
  pooling.  Their last batch norm starts at zero, so a new residual block is the identity: a
  trained model grows deeper (``--init``) without its output changing at step 0.
* ``StackFrontend`` (audio): concatenate ``stack`` consecutive frames, keep every ``subsample``-th.
"""

from __future__ import annotations

import torch
from torch import nn


def _mask_time(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Zero the positions past each length along the last axis of (B, C, H, W)."""
    W = x.shape[-1]
    keep = torch.arange(W, device=x.device).unsqueeze(0) < lengths.to(x.device).unsqueeze(1)
    return x * keep[:, None, None, :].to(x.dtype)


class ResidualBlock(nn.Module):
    """x + BN(conv(act(BN(conv(x))))); the second batch norm's scale starts at 0 (identity).

    Padding columns are zeroed between the two convolutions too (the first batch norm's shift
    would otherwise reach the second convolution from the padding)."""

    def __init__(self, c: int, dropout: float = 0.0):
        super().__init__()
        self.first = nn.Sequential(
            nn.Conv2d(c, c, 3, padding=1, bias=False),
            nn.BatchNorm2d(c),
            nn.LeakyReLU(0.01),
            nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
        )
        self.second = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c))
        nn.init.zeros_(self.second[-1].weight)

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        return _mask_time(x + self.second(_mask_time(self.first(x), lengths)), lengths)


class ConvFrontend(nn.Module):
    def __init__(self, height: int, channels: list[int], pools: list[list[int]], dropout: float = 0.0,
                 residual: list[int] | None = None):
        super().__init__()
        if len(pools) != len(channels):
            raise ValueError("model.cnn_pool needs one [height, width] pair per entry of model.cnn_channels")
        residual = list(residual or [0] * len(channels))
        if len(residual) != len(channels) or any(n < 0 for n in residual):
            raise ValueError("model.cnn_residual needs one count >= 0 per entry of model.cnn_channels (or [])")
        self.blocks = nn.ModuleList()
        # kept apart from ``blocks`` so that the parameter names of a model without them are unchanged
        self.residual = nn.ModuleList()
        self.pools = [tuple(p) for p in pools]
        c_in, h = 1, height
        for c, n_res, (ph, pw) in zip(channels, residual, self.pools):
            self.blocks.append(
                nn.Sequential(
                    nn.Conv2d(c_in, c, 3, padding=1, bias=False),
                    nn.BatchNorm2d(c),
                    nn.LeakyReLU(0.01),
                    nn.Dropout2d(dropout) if dropout > 0 else nn.Identity(),
                )
            )
            self.residual.append(nn.ModuleList(ResidualBlock(c, dropout) for _ in range(n_res)))
            c_in, h = c, h // ph
            if h < 1:
                raise ValueError(f"features.image.height={height} is too small for pooling {pools}")
        self.output_size = c_in * h

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        for _, pw in self.pools:
            lengths = torch.div(lengths, pw, rounding_mode="floor")
        return lengths

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = x.transpose(1, 2).unsqueeze(1)  # (B, T, H) -> (B, 1, H, T)
        for block, res, (ph, pw) in zip(self.blocks, self.residual, self.pools):
            x = _mask_time(block(x), lengths)
            for r in res:
                x = r(x, lengths)
            if ph > 1 or pw > 1:
                x = nn.functional.max_pool2d(x, (ph, pw))
                lengths = torch.div(lengths, pw, rounding_mode="floor")
                # a pooling window straddling a line's end (odd length) mixes its last valid
                # column into a padding column; zero it so the next conv cannot see it
                x = _mask_time(x, lengths)
        B, C, H, W = x.shape
        return x.permute(0, 3, 1, 2).reshape(B, W, C * H), lengths


class StackFrontend(nn.Module):
    def __init__(self, input_dim: int, stack: int = 1, subsample: int = 1):
        super().__init__()
        self.stack, self.subsample = stack, subsample
        self.output_size = input_dim * stack

    def output_lengths(self, lengths: torch.Tensor) -> torch.Tensor:
        n = torch.clamp(lengths - self.stack, min=-1)
        return torch.div(n, self.subsample, rounding_mode="floor") + 1

    def forward(self, x: torch.Tensor, lengths: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.stack == 1 and self.subsample == 1:
            return x, lengths
        B, T, D = x.shape
        if T < self.stack:
            x = nn.functional.pad(x, (0, 0, 0, self.stack - T))
        x = x.unfold(1, self.stack, self.subsample)  # (B, T', D, stack)
        x = x.permute(0, 1, 3, 2).reshape(B, x.shape[1], D * self.stack)
        return x, self.output_lengths(lengths)
