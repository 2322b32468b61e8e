"""``recog transcribe --stream``: audio fed to the model piece by piece, partial transcripts as
they grow, then the final one.

Inputs: audio files (read whole and fed in pieces, as a live source would deliver them), or ``-``:
standard input as it arrives, a WAV stream (16-bit PCM or 32-bit float, any rate and channels: its
header says) or raw 16-bit little-endian mono PCM at ``--rate`` (default: the model's rate).

Pieces are ``--chunk-ms`` of audio.  A unidirectional model emits every output frame once its
features are complete, and its final transcript is the whole input's.  A bidirectional model runs
latency-controlled (``recog.models.latency``) with chunks of ``--chunk-ms`` and ``--right-context-ms``
of right context, by default the ones it was trained with (``model.chunk``, ``model.right_context``);
a BLSTM trained on whole utterances streams too (default 400 ms + 200 ms) but reads less well
than on whole inputs, the less the shorter the chunks: train with ``model.chunk`` to stream.

Output: the greedy best path so far whenever it changes, as ``partial: <text>`` lines on stderr,
or with ``--format json`` as JSON lines on stdout (``partial``, ``audio_s``: seconds of input so
far, ``decoded_s``: the end of the last output frame's audio, ``compute_ms``); then the usual
``<id> <text>`` line (beam search over the whole input's log-probs with ``--beam``).  At the end
one line on stderr says how long outputs waited for their input (the audio after an output
frame's end that had arrived when it came out) and how long the computation took.
"""

from __future__ import annotations

import json
import struct
import sys
import time

import numpy as np
import torch

STDIN = "-"


def stream_window(cfg, chunk_ms: float | None, right_ms: float | None) -> tuple[int, int, float, str]:
    """(chunk, right context) in encoder frames for ``Streamer``, the piece size in ms, and a
    warning ('' for none)."""
    from .stream import frames_per_ms

    if (chunk_ms is not None and chunk_ms <= 0) or (right_ms is not None and right_ms < 0):
        raise ValueError("--chunk-ms must be above 0 and --right-context-ms at least 0")
    per = 1.0 / frames_per_ms(cfg)  # ms per encoder frame
    m = cfg.model
    if not m.bidirectional:
        if right_ms:
            raise ValueError("--right-context-ms is for bidirectional models; a unidirectional one reads no "
                             "right context")
        return 0, 0, chunk_ms or 100.0, ""
    trained = (m.chunk * per, m.right_context * per) if m.chunk else (400.0, 200.0)
    nc = max(1, round((trained[0] if chunk_ms is None else chunk_ms) / per))
    nr = round((trained[1] if right_ms is None else right_ms) / per)
    warning = ""
    if not m.chunk:
        warning = (f"warning: a BLSTM trained on whole utterances streams latency-controlled (chunks of {nc * per:g} "
                   f"ms, {nr * per:g} ms right context) and reads less well than whole inputs; train with "
                   "model.chunk to stream")
    elif (nc, nr) != (m.chunk, m.right_context):
        warning = (f"warning: streaming with chunks of {nc * per:g} ms and {nr * per:g} ms right context; the model "
                   f"was trained with {m.chunk * per:g} ms and {m.right_context * per:g} ms")
    return nc, nr, nc * per, warning


class PcmReader:
    """16-bit PCM as it arrives on a byte stream: WAV (rate, channels and sample format from its
    header) or, without a RIFF header, raw little-endian mono int16 at ``rate``."""

    def __init__(self, f, rate: int):
        self.f, self.rate, self.buf, self.eof = f, rate, b"", False
        self.channels, self.dtype, self.left = 1, np.dtype("<i2"), None  # left: data bytes still to come

    def _more(self) -> bool:
        data = self.f.read1(65536) if hasattr(self.f, "read1") else self.f.read(65536)
        self.eof = not data
        self.buf += data
        return bool(data)

    def _need(self, n: int) -> bool:
        while len(self.buf) < n and self._more():
            pass
        return len(self.buf) >= n

    def header(self) -> None:
        """Read a WAV header if there is one (up to the data chunk)."""
        if not (self._need(12) and self.buf[:4] == b"RIFF" and self.buf[8:12] == b"WAVE"):
            return
        self.buf = self.buf[12:]
        while self._need(8):
            cid, size = self.buf[:4], struct.unpack("<I", self.buf[4:8])[0]
            if cid == b"data":
                self.buf = self.buf[8:]
                self.left = None if size in (0, 0xFFFFFFFF) else size  # streaming writers leave it open
                return
            if not self._need(8 + size + (size & 1)):
                break
            if cid == b"fmt ":
                self._format(self.buf[8 : 8 + size])
            self.buf = self.buf[8 + size + (size & 1) :]
        raise ValueError("standard input: a WAV header without a data chunk")

    def _format(self, fmt: bytes) -> None:
        tag, self.channels, self.rate = struct.unpack("<HHI", fmt[:8])
        bits = struct.unpack("<H", fmt[14:16])[0]
        if tag == 0xFFFE and len(fmt) >= 26:  # WAVE_FORMAT_EXTENSIBLE: the sub-format's tag
            tag = struct.unpack("<H", fmt[24:26])[0]
        kinds = {(1, 16): "<i2", (3, 32): "<f4"}
        if (tag, bits) not in kinds:
            raise ValueError(f"standard input: WAV format {tag} with {bits} bits; --stream reads 16-bit PCM or "
                             "32-bit float WAV, or raw 16-bit PCM")
        self.dtype = np.dtype(kinds[(tag, bits)])

    def pieces(self, seconds: float):
        """(samples, rate, final): mono float32 pieces of ``seconds``, the last one flagged."""
        self.header()
        frame = self.channels * self.dtype.itemsize
        step = max(1, round(seconds * self.rate)) * frame
        while True:
            while len(self.buf) < step and not self.eof and (self.left is None or len(self.buf) < self.left):
                self._more()
            n = min(step, len(self.buf), self.left if self.left is not None else step)
            n -= n % frame  # a sample cut short at the end is dropped
            piece, self.buf = self.buf[:n], self.buf[n:]
            if self.left is not None:
                self.left -= n
            final = n < step or self.left == 0
            yield self._samples(piece), self.rate, final
            if final:
                return

    def _samples(self, b: bytes) -> torch.Tensor:
        x = np.frombuffer(b, dtype=self.dtype).astype(np.float32)
        if self.dtype.kind == "i":
            x /= 32768.0
        return torch.from_numpy(x.reshape(-1, self.channels).mean(axis=1))


def file_pieces(path, rate: int, seconds: float):
    """A file's samples at the model's rate (as ``recog transcribe`` reads them), in pieces."""
    from .features.audio import load_audio

    wav = load_audio(path, rate)
    step = max(1, round(seconds * rate))
    for a in range(0, wav.numel(), step):
        yield wav[a : a + step], rate, a + step >= wav.numel()


class Timing:
    """What ``recog transcribe --stream`` reports on stderr: how long outputs waited for input and
    how long the computation took."""

    def __init__(self, cfg):
        a, m = cfg.features.audio, cfg.model
        sub, stack = (m.subsample, m.stack) if m.frontend == "stack" else (1, 1)
        # output frame i ends where its last input frame's samples end
        self.end = lambda i: ((i * sub + stack - 1) * a.frame_shift_ms + a.frame_length_ms) / 1000
        self.waits: list[float] = []
        self.compute: list[float] = []
        self.after_end: list[float] = []
        self.audio = 0.0

    def add(self, first: int, n: int, audio_s: float, seconds: float, final: bool) -> None:
        self.waits += [max(0.0, audio_s - self.end(i)) for i in range(first, first + n)]
        self.compute.append(seconds)
        if final:
            self.after_end.append(seconds)
            self.audio += audio_s

    def summary(self) -> dict[str, float]:
        """Seconds of audio; ms waited by output frames (mean, max), of compute per piece (mean,
        max) and after the end of input (mean); the real-time factor (compute / audio)."""
        w, c = np.array(self.waits or [0.0]), np.array(self.compute or [0.0])
        return {"audio_s": self.audio, "wait_mean_ms": 1000 * w.mean(), "wait_max_ms": 1000 * w.max(),
                "compute_mean_ms": 1000 * c.mean(), "compute_max_ms": 1000 * c.max(),
                "after_end_ms": 1000 * float(np.mean(self.after_end or [0.0])), "rtf": c.sum() / max(self.audio, 1e-9)}

    def line(self, inputs: int, piece_ms: float) -> str:
        s = self.summary()
        return (f"stream: {inputs} input(s), {s['audio_s']:.1f} s of audio in pieces of {piece_ms:g} ms; outputs came "
                f"{s['wait_mean_ms']:.0f} ms (mean) / {s['wait_max_ms']:.0f} ms (max) of audio after their frame's "
                f"end; compute {s['compute_mean_ms']:.1f} ms (mean) / {s['compute_max_ms']:.0f} ms (max) per piece, "
                f"{s['after_end_ms']:.1f} ms after the end of input; real-time factor {s['rtf']:.3f}")


def transcribe_stream(args) -> int:
    """The body of ``recog transcribe --stream`` (``recog.commands.cmd_transcribe`` hands over)."""
    from .commands import _print_results, _problem, _transcriber

    if args.pages:
        raise ValueError("--stream reads audio; --pages transcribes layout files")
    tr = _transcriber(args)
    if tr.modality != "audio" or tr.output != "ctc":
        raise ValueError("--stream is for CTC speech models (audio in, transcripts out)")
    nc, nr, piece_ms, warning = stream_window(tr.cfg, args.chunk_ms, args.right_context_ms)
    from .stream import Streamer

    Streamer(tr, nc, nr)  # what cannot stream (an ONNX engine, a CNN front end) is refused before any input
    if warning:
        print(warning, file=sys.stderr)
    sources, errors = _sources(args, tr.cfg.features.audio.sample_rate)
    for e in errors:
        _problem(e)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    timing, results, bad = Timing(tr.cfg), [], 0
    for uid, pieces in sources:
        try:
            show = lambda *a, uid=uid: _partial(uid, *a, args.format, out)  # noqa: E731
            r = stream_one(tr, uid, pieces(piece_ms / 1000), (nc, nr), timing, show)
        except ValueError as e:  # FeatureError: unreadable or too short
            _problem(str(e) if str(e).startswith(uid) else f"{uid}: {e}")
            bad += 1
            continue
        results.append(r)
        _print_results([r], tr.recogniser.symbols, args.format, out)
    print(timing.line(len(results), piece_ms), file=sys.stderr)
    if args.ref:
        _score(args.ref, results, tr.recogniser.symbols, args.only_decoded)
    n_bad = len(errors) + bad
    if n_bad:
        print(f"{n_bad} input(s) could not be transcribed (see above)", file=sys.stderr)
    return 1 if n_bad else 0


def _sources(args, rate: int) -> tuple[list, list[str]]:
    """(id, pieces(seconds)) per input, files first, then standard input (id ``stdin``); errors."""
    from .infer import collect_inputs, input_ids

    files = [i for i in args.inputs if i != STDIN]
    if args.inputs.count(STDIN) > 1:
        raise ValueError("standard input (-) can be read once")
    if args.rate and STDIN not in args.inputs:
        raise ValueError("--rate is the rate of raw PCM on standard input (-); files say their own")
    sources, errors = [], []
    if files or args.files_from:
        paths, errors = collect_inputs(files, args.files_from, "audio")
        ids = input_ids(paths, files, args.relative_ids)
        sources = [(uid, lambda s, p=p: file_pieces(p, rate, s)) for uid, p in zip(ids, paths)]
    if STDIN in args.inputs:
        sources.append(("stdin", lambda s: PcmReader(sys.stdin.buffer, args.rate or rate).pieces(s)))
    if not sources:
        raise ValueError(f"no audio to transcribe in {', '.join(args.inputs) or args.files_from}")
    return sources, errors


def stream_one(tr, uid: str, pieces, window: tuple[int, int], timing: Timing, on_partial=None):
    """Feed one input's pieces to a ``Streamer``; ``on_partial(text, audio_s, decoded_s, compute_s)``
    whenever the best path changes.  Returns the final result, as ``Transcriber``'s."""
    from .features import FeatureError
    from .stream import Streamer

    st = Streamer(tr, *window)
    symbols = tr.recogniser.symbols
    logps, shown, fed = [], "", 0
    for samples, rate, final in pieces:
        fed += samples.numel()
        t0 = time.perf_counter()
        lp = st.push_samples(samples, rate, final)
        seconds = time.perf_counter() - t0
        timing.add(st.frames_out - lp.shape[0], lp.shape[0], fed / rate, seconds, final)
        logps.append(lp)
        text = symbols.decode(st.greedy.hypothesis().tokens)
        if text != shown and not final and on_partial:
            shown = text
            on_partial(text, fed / rate, timing.end(st.frames_out - 1) if st.frames_out else 0.0, seconds)
    if st.frames_out == 0:
        raise FeatureError(f"too short to transcribe ({st.frames_in} frames)")
    hyps = tr.search(torch.cat(logps)) if tr.beam else [st.greedy.hypothesis()]
    return uid, hyps[0], tr.frame_shift, hyps


def _partial(uid: str, text: str, audio_s: float, decoded_s: float, seconds: float, fmt: str, out) -> None:
    if fmt == "json":
        out.write(json.dumps({"id": uid, "partial": text, "audio_s": round(audio_s, 3),
                              "decoded_s": round(decoded_s, 3), "compute_ms": round(1000 * seconds, 2)},
                             ensure_ascii=False) + "\n")
        out.flush()
    else:
        print(f"partial: {text}", file=sys.stderr, flush=True)


def _score(ref: str, results: list, symbols, only_decoded: bool) -> None:
    """Error rates against a Kaldi text file, on stderr (as ``recog transcribe --ref``)."""
    from .manifest import read_text
    from .metrics import score

    hyps = {uid: symbols.decode(h.tokens) for uid, h, _, _ in results}
    refs = {k: v for k, v in read_text(ref).items() if k in hyps or not only_decoded}
    for unit in [symbols.unit] + (["word"] if symbols.unit == "char" else []):
        print(score(refs, hyps, unit).format(top_confusions=0), file=sys.stderr)
