"""The Python API: ``recog.load(path)`` and a model's ``transcribe`` and ``log_probs``.

Everything the command line does to one input — the model's own features, CMVN, the network,
greedy or beam-search decoding — from Python, on files or on data already in memory::

    import recog
    m = recog.load("pretrained/hooker")
    r = m.transcribe("line.png")                 # a Result
    r.text, r.tokens, r.confidences, r.positions  # positions: (start, end) in pixels or seconds
    rs = m.transcribe(["a.png", "b.png"])         # a list in, a list out
    m.transcribe(pil_image); m.transcribe(grey_uint8_array)
    s = recog.load("pretrained/english_phones")
    s.transcribe(samples, sample_rate=8000)       # resampled to the model's rate
    s.log_probs("clip.wav")                       # (frames, symbols) numpy array
    s.reset_state(chunk=20, right_context=10)     # streaming; a BLSTM runs latency-controlled (frames)
    s.predict_and_update_state(piece)             # log-probs of the frames this piece made final
    s.predict_and_update_state(last, final=True)  # the rest; the next call starts a new input

Inputs: a path (str or Path), a PIL image or a 2-D array (image models: grey, 0–255 or 0–1), a
1-D array or tensor of samples with ``sample_rate=`` (audio models), or a list of these.  Every
problem — a file that cannot be read, an input of the wrong kind, a model that does not load —
is raised as ``RecogError`` with a message naming the input.

Positions: each symbol's first and last output frame mapped back onto the input.  Audio: seconds,
``frame · seconds per output frame``.  Images: pixels of the input's width (the columns a frame
covers, as in ``recog.pages``): ``x(f) = ((f + ½)·T_in/T_out − pad)·W/(T_in − 2·pad)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .decode.types import Hypothesis


class RecogError(Exception):
    """Anything that stops recog from reading an input or a model; the message says what."""


@dataclass
class Result:
    """One transcription: text, symbol ids and names, per-symbol confidence (max posterior) and
    position (start, end: pixels for images, seconds for audio), and the n-best texts with scores
    (best first; the best alone without ``beam``)."""
    text: str
    tokens: list[int]
    symbols: list[str]
    confidences: list[float]
    positions: list[tuple[float, float]]
    score: float
    nbest: list[tuple[str, float]] = field(default_factory=list)


def load(path: str | Path, beam: int = 0, lm: str | Path | None = None, alpha: float = 0.5, beta: float = 0.0,
         nbest: int = 1, device: str = "cpu", precision: str = "auto", engine: str = "torch") -> "Model":
    """A packaged model (file or folder) ready to transcribe; decoding options as the CLI's.
    ``precision``: fp32, bf16 or auto (bf16 where the hardware computes in it; recog.precision);
    ``engine="onnx"``: an exported model (``recog export``) run by ONNX Runtime."""
    from .infer import Transcriber

    try:
        return Model(Transcriber(path, beam=beam, lm=lm, alpha=alpha, beta=beta, nbest=nbest,
                                 device=resolve_device(device), precision=precision, engine=engine))
    except (OSError, ValueError, RuntimeError, KeyError) as e:
        raise RecogError(str(e)) from e


def resolve_device(device: str) -> str:
    """``cpu``, ``cuda`` (an error without one) or ``auto`` (cuda when there is one)."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise ValueError(f"device {device!r}: use cpu, cuda, cuda:N or auto")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: no CUDA device here (use cpu or auto)")
    return device


class Model:
    """A loaded model (see the module docstring); ``recog.load`` makes one."""

    def __init__(self, transcriber):
        self._tr = transcriber
        self.symbols = transcriber.recogniser.symbols
        self.modality = transcriber.modality
        self._sub = transcriber.recogniser.model.output_lengths
        self._stream, self._stream_window = None, (0, 0)  # predict_and_update_state

    def _features(self, x, sample_rate: int | None, name: str) -> torch.Tensor:
        tr = self._tr
        if isinstance(x, (str, Path)):
            return tr.features(x)
        if self.modality == "image":
            return tr.features(_as_image(x, name), name=name)
        return tr.features(_as_waveform(x, sample_rate, tr.cfg.features.audio.sample_rate, name), name=name)

    def _items(self, xs: list, sample_rate: int | None):
        """Items for ``Transcriber.transcribe_items`` and, filled as features are computed, each
        item's (input width in pixels, input frames, output frames)."""
        sizes: dict[str, tuple[int, int, int]] = {}

        def get(k, x, name):
            try:
                f = self._features(x, sample_rate, name)
            except (OSError, TypeError) as e:
                raise RecogError(f"{name}: {e}") from e
            n_in = int(f.shape[0])
            width = _input_width(x) if self.modality == "image" else 0
            sizes[str(k)] = (width, n_in, int(self._sub(torch.tensor([n_in]))[0]))
            return f

        names = [str(x) if isinstance(x, (str, Path)) else f"input {k}" for k, x in enumerate(xs)]
        return [(str(k), (lambda k=k, x=x, n=n: get(k, x, n)), n) for k, (x, n) in enumerate(zip(xs, names))], sizes

    def transcribe(self, x, sample_rate: int | None = None):
        """A Result for one input, a list of Results for a list (see the module docstring)."""
        xs, single = ([x], True) if not isinstance(x, (list, tuple)) else (list(x), False)
        items, sizes = self._items(xs, sample_rate)
        try:
            results, errors = self._tr.transcribe_items(items)
        except ValueError as e:
            raise RecogError(str(e)) from e
        if errors:
            raise RecogError("; ".join(errors))
        out = [self._result(hyps, sizes.get(uid, (0, 0, 0))) for uid, _, _, hyps in results]
        return out[0] if single else out

    def _result(self, hyps: list[Hypothesis], size: tuple[int, int, int]) -> Result:
        h = hyps[0]
        names = [self.symbols.symbols[t] for t in h.tokens]
        return Result(self.symbols.decode(h.tokens), list(h.tokens), names, list(h.confidences),
                      [self._position(s, e, size) for s, e in zip(h.start_frames, h.end_frames)],
                      h.score, [(self.symbols.decode(n.tokens), n.score) for n in hyps])

    def _position(self, start: int, end: int, size: tuple[int, int, int]) -> tuple[float, float]:
        if self.modality == "audio":
            step = self._tr.frame_shift
            return start * step, (end + 1) * step
        width, n_in, n_out = size
        pad = self._tr.cfg.features.image.pad

        from .features.image import frame_position

        return (width * frame_position(start - 0.5, n_in, n_out, pad),
                width * frame_position(end + 0.5, n_in, n_out, pad))

    def log_probs(self, x, sample_rate: int | None = None):
        """The network's (frames, symbols) log-posteriors as a numpy array (a list for a list)."""
        from .data import Example

        xs, single = ([x], True) if not isinstance(x, (list, tuple)) else (list(x), False)
        items, _ = self._items(xs, sample_rate)
        try:
            out = [lp.numpy() for lp in self._tr.log_probs([Example(uid, get(), [], "") for uid, get, _ in items])]
        except ValueError as e:
            raise RecogError(str(e)) from e
        return out[0] if single else out

    def reset_state(self, chunk: int = 0, right_context: int = 0) -> None:
        """Forget the stream so far: the next ``predict_and_update_state`` starts a new input.
        ``chunk``, ``right_context``: a bidirectional model's latency-controlled window (see
        ``recog.models.latency``) in encoder frames (frame shift × the front end's subsampling);
        0: the model's ``model.chunk`` and ``model.right_context``.  A BLSTM trained on whole
        utterances (no ``model.chunk``) needs them, and reads less well the shorter they are."""
        from .stream import Streamer

        try:
            self._stream = Streamer(self._tr, chunk, right_context)
        except ValueError as e:
            raise RecogError(str(e)) from e
        self._stream_window = (chunk, right_context)

    def predict_and_update_state(self, x=None, sample_rate: int | None = None, final: bool = False):
        """Streaming (MATLAB's predictAndUpdateState): the next piece of one input in, a numpy
        array (n, V) out: the outputs (log-probs for CTC) of the n output frames that this piece
        made final; the state (samples and frames held back, recurrent states) is kept for the
        next piece.  ``x``: samples, 1-D (audio models; ``sample_rate`` defaults to the model's,
        another rate is resampled as the stream goes), or feature frames (T, D) as ``recog
        features`` writes them, before CMVN; None: no new input.  ``final=True``: the input ends
        with this piece: what was held back for look-ahead (deltas, stacking, a BLSTM's right
        context) comes out, and the next call starts a new input.  The outputs of all pieces
        are ``log_probs`` of the whole input (``recog.stream`` says when exactly)."""
        if self._stream is None:
            self.reset_state(*self._stream_window)
        a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else None if x is None else np.asarray(x)
        try:
            out = _push(self._stream, a, sample_rate or self._tr.cfg.features.audio.sample_rate, final)
        except ValueError as e:
            raise RecogError(str(e)) from e
        finally:
            if final:
                self._stream = None
        return out.numpy()


def _push(stream, a: np.ndarray | None, rate: int, final: bool):
    """A piece for a ``recog.stream.Streamer``: (T, D) frames or 1-D samples (int16: 16-bit scale)."""
    if (a is not None and a.ndim == 2) or (a is None and stream.kind == "frames"):
        return stream.push_frames(a if a is not None else np.zeros((0, stream.dim), np.float32), final)
    if a is not None and a.ndim != 1:
        raise ValueError(f"a stream reads 1-D samples or (frames, {stream.dim}) feature frames, not an array "
                         f"of shape {a.shape}")
    a = np.zeros(0, np.float32) if a is None else a / 32768.0 if a.dtype == np.int16 else a
    return stream.push_samples(torch.as_tensor(np.asarray(a, dtype=np.float32)), rate, final)


def _as_image(x, name: str):
    """A PIL image or a 2-D grey array (uint8 0–255, or floats 0–1) as an 8-bit grey image."""
    from PIL import Image

    if isinstance(x, Image.Image):
        return x.convert("L")
    a = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    if a.ndim != 2:
        raise RecogError(f"{name}: an image model reads a path, a PIL image or a 2-D grey array, "
                         f"not an array of shape {a.shape}")
    if a.dtype != np.uint8:
        a = np.clip(a.astype(np.float64) * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).round().astype(np.uint8)
    return Image.fromarray(a, mode="L")


def _as_waveform(x, sample_rate: int | None, model_rate: int, name: str) -> torch.Tensor:
    """Samples (1-D array or tensor, or (channels, samples): averaged) at the model's rate."""
    import torchaudio

    if sample_rate is None:
        raise RecogError(f"{name}: give sample_rate= with audio samples (the model reads {model_rate} Hz)")
    wav = x.detach().cpu().float() if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, dtype=np.float32))
    if wav.dim() == 2:
        wav = wav.mean(dim=0)
    if wav.dim() != 1 or wav.numel() == 0 or not torch.isfinite(wav).all():
        raise RecogError(f"{name}: audio must be a non-empty 1-D (or channels x samples) array of finite samples")
    return torchaudio.functional.resample(wav, sample_rate, model_rate) if sample_rate != model_rate else wav


def _input_width(x) -> int:
    """An image input's width in pixels."""
    from PIL import Image

    if isinstance(x, Image.Image):
        return x.width
    if isinstance(x, (str, Path)):
        try:
            with Image.open(x) as im:
                return im.width
        except OSError:
            return 0
    a = np.asarray(x)
    return a.shape[1] if a.ndim == 2 else 0
