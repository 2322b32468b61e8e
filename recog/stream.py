"""Streaming inference: one input that arrives in pieces, through a loaded model, outputs as soon
as they cannot change (``recog.api.Model.predict_and_update_state``, ``recog transcribe --stream``).

    samples ─► resampler ─► fbank framing + deltas ─► CMVN ─► front end ─► encoder ─► outputs
    (any rate)  (exact)     (recog.features.stream)   (*)     (recog.models.streaming)

Every stage keeps what the next piece needs and returns what is final, so, for a unidirectional
model and ``features.cmvn`` none, global or running, the outputs of a stream are those of the whole input
(to float rounding: fp32 ~1e-6, bf16 its own) however it is cut.  What is not exact, and why:

* (*) ``features.cmvn: utterance`` needs the whole utterance's mean and variance: a stream uses
  those of the frames so far (``RunningCMVN``), so early frames are normalised differently
  (``features.cmvn: running`` trains with what a stream computes).
* a bidirectional model runs latency-controlled (``recog.models.latency``): exact for a model
  trained so (``model.chunk``), an approximation for one trained on whole utterances.
* dither (``features.audio.dither`` > 0) is random noise, frame by frame.

Lookahead: an output frame comes out once its own samples (its stacked feature frames) and
2·d more feature frames for d orders of deltas have arrived (40 ms for Δ+ΔΔ at a 10 ms shift);
a bidirectional model's also waits for the rest of its chunk and the right context, up to
Nc − 1 + Nr encoder frames more.  Pieces add their own buffering (an output can come no sooner
than the piece that completes it), and the computation its time.
"""

from __future__ import annotations

import numpy as np
import torch

from .decode.greedy import GreedyStream
from .features import FeatureError, feature_dim
from .features.cmvn import stream_normaliser
from .features.stream import AudioFeatureStream, StreamResampler
from .models.streaming import ModelStream
from .precision import autocast


def frames_per_ms(cfg) -> float:
    """Encoder frames per millisecond of audio: 1 / (frame shift × the front end's subsampling)."""
    sub = cfg.model.subsample if cfg.model.frontend == "stack" else 1
    return 1.0 / (cfg.features.audio.frame_shift_ms * sub)


class Streamer:
    """One stream: ``push_samples`` (audio models) or ``push_frames`` (feature frames as ``recog
    features`` writes them, before CMVN) return the new output frames (n, V); ``final=True`` ends
    the stream.  ``greedy`` holds the best path of a CTC model's outputs so far."""

    def __init__(self, transcriber, chunk: int = 0, right_context: int = 0):
        if getattr(transcriber, "engine", "torch") != "torch":
            raise ValueError("streaming runs the torch engine (a packaged model), not an exported ONNX model")
        self.cfg = transcriber.cfg
        self.precision = (transcriber.device, getattr(transcriber, "precision", "fp32"))  # as the whole input's
        self.model = ModelStream(transcriber.recogniser.model, chunk, right_context)
        self.cmvn = stream_normaliser(transcriber.recogniser.cmvn)
        self.dim = feature_dim(self.cfg.features)
        self.audio = AudioFeatureStream(self.cfg.features.audio) if self.cfg.features.modality == "audio" else None
        self.resampler: StreamResampler | None = None
        self.greedy = GreedyStream() if self.cfg.model.output == "ctc" else None
        self.kind = ""        # "samples" or "frames", fixed by the first piece
        self.frames_in = 0    # feature frames so far
        self.frames_out = 0   # output frames so far

    def _kind(self, kind: str) -> None:
        if self.kind and self.kind != kind:
            raise ValueError(f"this stream reads {self.kind}; {kind} need a new stream (reset_state)")
        self.kind = kind

    def push_samples(self, samples: torch.Tensor, rate: int, final: bool = False) -> torch.Tensor:
        """Mono float samples in [-1, 1] at ``rate`` (resampled to the model's)."""
        if self.audio is None:
            raise ValueError("samples are for audio models; an image model reads feature columns")
        self._kind("samples")
        model_rate = self.cfg.features.audio.sample_rate
        if self.resampler is None:
            self.resampler = StreamResampler(rate, model_rate)
        elif rate != self.resampler.orig_rate:
            raise ValueError(f"this stream's samples are at {self.resampler.orig_rate} Hz, not {rate} Hz")
        wav = self.resampler.push(samples.reshape(-1).float(), final)
        frames = self.audio.push(wav, final)
        if final and self.frames_in + frames.shape[0] == 0:
            raise FeatureError(f"audio shorter than one frame ({self.resampler.seen} samples at {rate} Hz)")
        return self._frames(frames, final)

    def push_frames(self, frames: np.ndarray, final: bool = False) -> torch.Tensor:
        """Feature frames (T, D), before normalisation."""
        self._kind("frames")
        f = np.asarray(frames, dtype=np.float32)
        if f.ndim != 2 or f.shape[1] != self.dim:
            raise ValueError(f"feature frames must be (frames, {self.dim}), not {f.shape}")
        return self._frames(f, final)

    def _frames(self, f: np.ndarray, final: bool) -> torch.Tensor:
        self.frames_in += f.shape[0]
        if self.cmvn is not None and f.shape[0]:
            f = self.cmvn(f)
        with autocast(*self.precision):
            out = self.model.push(torch.from_numpy(np.ascontiguousarray(f, dtype=np.float32)), final)
        self.frames_out += out.shape[0]
        if self.greedy is not None:
            self.greedy.push(out)
        return out
