"""A model run on a sequence that arrives in pieces, with the outputs of the whole sequence.

``ModelStream(model).push(frames)`` takes the next feature frames (T, D) and returns the outputs
(n, V) of the frames that became final; ``push(frames, final=True)`` ends the sequence and returns
the rest.  The state kept between calls, and why the outputs equal ``model(whole sequence)``:

* front end (``stack`` frames concatenated, every ``subsample``-th kept): output j reads input
  frames [j·s, j·s + stack).  It is computed once frame j·s + stack − 1 has arrived; the frames
  before the next output's first one are dropped.  (The CNN front end of image models reads
  columns on both sides and normalised whole-line images: not streamed.)
* unidirectional encoder: every layer's state after the frames so far.  A causal recurrence
  computes the same from a carried state as in one run, so every frame is final at once.
* bidirectional encoder: latency-controlled (``.latency``): chunk k's outputs come once the
  Nc + Nr frames of its window are in (or at the end); the forward states at the chunk's end go
  on.  For a model trained with ``model.chunk`` this is its own function; for one trained on
  whole utterances it is an approximation whose accuracy falls with shorter chunks and context.
* output layer: frame by frame (CTC log-probs, per-frame classes or values).  Per-sequence outputs
  (``label``, sequence regression) need the whole sequence: not streamed.
"""

from __future__ import annotations

import torch

from .frontends import StackFrontend
from .latency import lc_stack


class ModelStream:
    def __init__(self, model, chunk: int = 0, right_context: int = 0):
        """``model``: a ``CTCModel`` in eval mode; ``chunk``/``right_context``: a bidirectional
        encoder's LC window in frames after the front end (0: the model's ``model.chunk`` and
        ``model.right_context``; a model without them needs ``chunk``)."""
        if not isinstance(model.frontend, StackFrontend):
            raise ValueError("streaming needs a model with the stack front end (audio); a CNN front end "
                             "reads columns on both sides")
        if not model.per_frame:
            raise ValueError(f"a model.output={model.kind} model gives one output per sequence: nothing to stream")
        self.model = model
        self.device = next(model.parameters()).device
        self.bidirectional = model.encoder.bidirectional
        self.chunk = chunk or model.lc_chunk
        self.right = right_context if chunk else model.lc_right
        if self.bidirectional and self.chunk < 1:
            raise ValueError("a bidirectional model not trained in LC mode (model.chunk) streams with a chunk "
                             "size and right context given (frames after the front end)")
        if not self.bidirectional and right_context:
            raise ValueError("a right context is for bidirectional models (a unidirectional one reads none)")
        self.reset()

    def reset(self) -> None:
        self.front = None                # input frames not yet read by the front end
        self.pending = None              # front-end frames not yet encoded (LC: the next window)
        self.states = [None] * len(self.model.encoder.layers)
        self.emitted = 0                 # output frames returned so far

    @torch.no_grad()
    def push(self, frames: torch.Tensor, final: bool = False) -> torch.Tensor:
        x = self._front(frames.to(self.device, torch.float32))
        h = self._lc(x, final) if self.bidirectional else self._causal(x)
        if h.shape[0] == 0:
            return torch.zeros(0, self.model.num_classes)
        self.emitted += h.shape[0]
        m = self.model
        out = m.head(m.output, m.dropout, h.unsqueeze(0), torch.tensor([h.shape[0]], device=self.device))
        return out[0].float().cpu()

    def _front(self, frames: torch.Tensor) -> torch.Tensor:
        f = self.model.frontend
        buf = frames if self.front is None else torch.cat([self.front, frames])
        n = int(f.output_lengths(torch.tensor([buf.shape[0]]))[0])
        self.front = buf[n * f.subsample :]
        if n == 0:
            return buf.new_zeros(0, f.output_size)
        used = (n - 1) * f.subsample + f.stack
        x, _ = f(buf[:used].unsqueeze(0), torch.tensor([used]))
        return x[0, :n]

    def _causal(self, x: torch.Tensor) -> torch.Tensor:
        piece, n = x.unsqueeze(0), torch.tensor([x.shape[0]], device=self.device)
        if x.shape[0] == 0:
            return x
        for i, layer in enumerate(self.model.encoder.layers):
            piece, self.states[i] = layer.run(piece, n, "right", self.states[i])
        return piece[0]

    def _lc(self, x: torch.Tensor, final: bool) -> torch.Tensor:
        """Encode every complete window (every window left, with ``final``)."""
        buf = x if self.pending is None else torch.cat([self.pending, x])
        nc, nr = self.chunk, self.right
        outs = []
        while buf.shape[0] >= nc + nr or (final and buf.shape[0] > 0):
            n = min(buf.shape[0], nc + nr)
            w = torch.nn.functional.pad(buf[:n], (0, 0, 0, nc + nr - n)).view(1, 1, nc + nr, -1)
            keep, ctx = torch.tensor([[min(n, nc)]]), torch.tensor([[max(0, n - nc)]])
            top, self.states = lc_stack(self.model.encoder, w, keep.to(self.device), ctx.to(self.device), nc,
                                        self.states)
            outs.append(top[0, 0, : min(n, nc)])
            buf = buf[min(n, nc) :]
        self.pending = buf
        return torch.cat(outs) if outs else x.new_zeros(0, self.model.encoder.output_size)
