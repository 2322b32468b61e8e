"""A ctypes binding to the espeak-ng speech synthesizer (``libespeak-ng.so.1``), with phoneme times.

espeak-ng is a formant synthesizer; its C library reports, besides the audio, an event for every
word and (when initialised with ``espeakINITIALIZE_PHONEME_EVENTS``) for every phoneme, each with
its exact position in the output samples.  That is what makes it usable for a synthetic corpus with
sample-exact phone segmentation (:mod:`data_prep.synth_timit`).

Install it with ``apt-get install espeak-ng`` (Debian/Ubuntu; the library ``libespeak-ng1`` and its
voice data come with it).  Everything here raises :class:`EspeakNotFound` (a RuntimeError) with that
instruction when the library or its data cannot be loaded.

API::

    samples, phonemes = synthesize("Hello world.", voice="en-us+f3", rate=160, pitch=55)
    # samples: int16 array at 22050 Hz; phonemes: [("h", 0), ("@", 1870), ...]: espeak's own
    # mnemonic and the sample at which the phoneme starts

    syn = synthesize_events(text, voice, rate, pitch, range_)  # Synthesis: + word events

Notes on what the events mean (espeak-ng 1.51, ``synthesize.c``):

* A phoneme event is emitted when espeak starts generating the phoneme, so the phonemes tile the
  audio: each runs from its event to the next one; audio before the first event is leading silence,
  and the last event (a pause ``_``) sits at or just before the end.
* For stops, espeak emits the closure silence ("prepause") *before* the stop's event, so a stop's
  event marks its release and its closure lies at the end of the previous phoneme's span.
  A vowel after a liquid or nasal has its event after the vowel's onset transition.
* Word events (type 1) carry the word's character position and length in the text; their sample is
  where espeak started the word, before any prepause of its first phoneme.

Binary layout (checked against ``/usr/include/espeak-ng/speak_lib.h`` on x86_64 with ``offsetof``)::

    espeak_EVENT: type int @0, unique_identifier uint @4, text_position int @8, length int @12,
                  audio_position int @16, sample int @20, user_data void* @24, id union @32
                  (number int | name char* | string char[8]); sizeof 40

The library keeps global state, so one process synthesizes one text at a time (not thread-safe);
use processes for parallelism.

Reproducibility: the C library's ``rand()`` (breath noise of some voices) is re-seeded before every
text, but espeak-ng also carries state from one text to the next (the phase of its pitch "flutter",
its automatic gain control), so with most voice variants the same text sounds slightly different
depending on what was synthesized before in that process.  :func:`run_isolated` runs a function in
a forked child of a process that has initialised the engine but never synthesized, so every call
starts from the same state: ``run_isolated(fn, *args)`` gives the same result wherever and
whenever it runs (for the same espeak-ng build).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import pickle
import traceback
from dataclasses import dataclass, field

import numpy as np

INSTALL_HINT = "install it with: apt-get install espeak-ng"
LIB_NAMES = ("libespeak-ng.so.1", "libespeak-ng.so")

# speak_lib.h constants
AUDIO_OUTPUT_SYNCHRONOUS = 2
espeakINITIALIZE_PHONEME_EVENTS = 0x0001
espeakINITIALIZE_PHONEME_IPA = 0x0002
espeakINITIALIZE_DONT_EXIT = 0x8000
espeakCHARS_UTF8 = 1
POS_CHARACTER = 1
EE_OK = 0

EVENT_LIST_TERMINATED = 0
EVENT_WORD = 1
EVENT_SENTENCE = 2
EVENT_END = 5
EVENT_MSG_TERMINATED = 6
EVENT_PHONEME = 7
EVENT_SAMPLERATE = 8

espeakRATE, espeakVOLUME, espeakPITCH, espeakRANGE = 1, 2, 3, 4
espeakWORDGAP = 7  # (punctuation and capitals: the defaults, none announced, are kept)

SAMPLE_RATE = 22050


class EspeakNotFound(RuntimeError):
    """espeak-ng (its library or its voice data) is not installed."""


class EspeakError(RuntimeError):
    """espeak-ng refused a request (unknown voice, synthesis error)."""


class _EventId(ctypes.Union):
    _fields_ = [("number", ctypes.c_int), ("name", ctypes.c_char_p), ("string", ctypes.c_char * 8)]


class EspeakEvent(ctypes.Structure):
    """``espeak_EVENT`` from speak_lib.h (API revision 12)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("unique_identifier", ctypes.c_uint),
        ("text_position", ctypes.c_int),
        ("length", ctypes.c_int),
        ("audio_position", ctypes.c_int),
        ("sample", ctypes.c_int),
        ("user_data", ctypes.c_void_p),
        ("id", _EventId),
    ]


assert ctypes.sizeof(EspeakEvent) == (40 if ctypes.sizeof(ctypes.c_void_p) == 8 else 32)

_SynthCallback = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_short), ctypes.c_int,
                                  ctypes.POINTER(EspeakEvent))


@dataclass
class WordEvent:
    """A word event: the word's character span in the text (0-based start, length), the sample
    where espeak started it, and ``phoneme_index``: how many phoneme events came before it (so
    the word's phonemes are ``phonemes[phoneme_index:next_word.phoneme_index]``, pauses aside)."""

    text_position: int
    length: int
    sample: int
    phoneme_index: int


@dataclass
class Synthesis:
    samples: np.ndarray  # int16, mono
    phonemes: list[tuple[str, int]]  # (espeak mnemonic, start sample), in order
    words: list[WordEvent] = field(default_factory=list)
    sample_rate: int = SAMPLE_RATE


class _Engine:
    """The process-wide espeak-ng instance (the library is a singleton)."""

    def __init__(self) -> None:
        lib = None
        errors = []
        names = list(LIB_NAMES)
        found = ctypes.util.find_library("espeak-ng")
        if found and found not in names:
            names.append(found)
        for name in names:
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError as e:
                errors.append(str(e))
        if lib is None:
            raise EspeakNotFound(f"espeak-ng library not found ({'; '.join(errors)}): {INSTALL_HINT}")
        self.lib = lib
        lib.espeak_Initialize.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_char_p, ctypes.c_int]
        lib.espeak_Initialize.restype = ctypes.c_int
        lib.espeak_SetSynthCallback.argtypes = [_SynthCallback]
        lib.espeak_SetSynthCallback.restype = None
        lib.espeak_SetVoiceByName.argtypes = [ctypes.c_char_p]
        lib.espeak_SetVoiceByName.restype = ctypes.c_int
        lib.espeak_SetParameter.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int]
        lib.espeak_SetParameter.restype = ctypes.c_int
        lib.espeak_Synth.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int,
                                     ctypes.c_uint, ctypes.c_uint, ctypes.POINTER(ctypes.c_uint),
                                     ctypes.c_void_p]
        lib.espeak_Synth.restype = ctypes.c_int
        lib.espeak_Synchronize.argtypes = []
        lib.espeak_Synchronize.restype = ctypes.c_int
        lib.espeak_Info.argtypes = [ctypes.POINTER(ctypes.c_char_p)]
        lib.espeak_Info.restype = ctypes.c_char_p
        path = os.environ.get("ESPEAK_DATA_PATH")
        rate = lib.espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 0, path.encode() if path else None,
                                     espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT)
        if rate <= 0:
            raise EspeakNotFound(f"espeak-ng could not be initialised (voice data missing?): {INSTALL_HINT}")
        self.sample_rate = rate
        self._chunks: list[np.ndarray] = []
        self._phonemes: list[tuple[str, int]] = []
        self._words: list[WordEvent] = []
        self._cb = _SynthCallback(self._callback)  # keep a reference: the library holds a pointer
        lib.espeak_SetSynthCallback(self._cb)
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            libc.srand.argtypes = [ctypes.c_uint]
            self._srand = libc.srand
        except (OSError, AttributeError):  # pragma: no cover - every Linux has a libc
            self._srand = None
        self._voice: str | None = None

    def _callback(self, wav, numsamples, events) -> int:
        if wav and numsamples > 0:
            self._chunks.append(np.ctypeslib.as_array(wav, shape=(numsamples,)).astype(np.int16, copy=True))
        i = 0
        while True:
            ev = events[i]
            if ev.type == EVENT_LIST_TERMINATED:
                break
            if ev.type == EVENT_PHONEME:
                name = bytes(ev.id.string).split(b"\0", 1)[0].decode("utf-8", "replace")
                self._phonemes.append((name, int(ev.sample)))
            elif ev.type == EVENT_WORD:
                # espeak's text_position is 1-based
                self._words.append(WordEvent(int(ev.text_position) - 1, int(ev.length), int(ev.sample),
                                             len(self._phonemes)))
            i += 1
        return 0

    def set_voice(self, voice: str) -> None:
        if voice != self._voice:
            if self.lib.espeak_SetVoiceByName(voice.encode()) != EE_OK:
                self._voice = None
                raise EspeakError(f"espeak-ng: unknown voice {voice!r} (see: espeak-ng --voices)")
            self._voice = voice

    def synth(self, text: str, voice: str, rate: int, pitch: int, range_: int, volume: int,
              wordgap: int, seed: int) -> Synthesis:
        self.set_voice(voice)
        lib = self.lib
        for param, value in ((espeakRATE, rate), (espeakPITCH, pitch), (espeakRANGE, range_),
                             (espeakVOLUME, volume), (espeakWORDGAP, wordgap)):
            if lib.espeak_SetParameter(param, int(value), 0) != EE_OK:
                raise EspeakError(f"espeak-ng: cannot set parameter {param} to {value}")
        if self._srand is not None:
            self._srand(seed & 0xFFFFFFFF)
        self._chunks, self._phonemes, self._words = [], [], []
        data = text.encode("utf-8") + b"\0"
        err = lib.espeak_Synth(data, len(data), 0, POS_CHARACTER, 0, espeakCHARS_UTF8, None, None)
        if err != EE_OK:
            raise EspeakError(f"espeak-ng: espeak_Synth failed with error {err} for {text!r}")
        lib.espeak_Synchronize()
        samples = np.concatenate(self._chunks) if self._chunks else np.zeros(0, np.int16)
        out = Synthesis(samples, self._phonemes, self._words, self.sample_rate)
        self._chunks, self._phonemes, self._words = [], [], []
        return out


_engine: _Engine | None = None


def engine() -> _Engine:
    """The process's espeak-ng engine, initialised on first use (raises EspeakNotFound)."""
    global _engine
    if _engine is None:
        _engine = _Engine()
    return _engine


def version() -> str:
    """espeak-ng's version string (``1.51`` ...)."""
    v = engine().lib.espeak_Info(None)
    return v.decode("utf-8", "replace") if v else "unknown"


def available() -> bool:
    """True when espeak-ng's library and data load."""
    try:
        engine()
        return True
    except EspeakNotFound:
        return False


def synthesize_events(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50,
                      range_: int = 50, volume: int = 100, wordgap: int = 0, seed: int = 0) -> Synthesis:
    """Synthesize ``text`` (UTF-8, plain text) with an espeak-ng voice name (``en-us``,
    ``en-gb-scotland+f3``, ...).  ``rate`` in words per minute (80..450), ``pitch`` and ``range_``
    0..100 (50 = the voice's normal), ``wordgap`` in 10 ms units, ``seed`` for the C ``rand()``
    some voices use.  Returns audio, phoneme events and word events."""
    return engine().synth(text, voice, rate, pitch, range_, volume, wordgap, seed)


def synthesize(text: str, voice: str = "en-us", rate: int = 175, pitch: int = 50, range_: int = 50,
               **kw) -> tuple[np.ndarray, list[tuple[str, int]]]:
    """``(samples, phonemes)``: int16 samples at 22050 Hz and ``[(espeak phoneme, start sample)]``."""
    syn = synthesize_events(text, voice, rate, pitch, range_, **kw)
    return syn.samples, syn.phonemes


def run_isolated(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` run in a forked child process, its result pickled back.

    The child starts from this process's espeak-ng state; call :func:`engine` first (so the child
    does not pay for initialising it) and never synthesize in this process itself, and every call
    sees a fresh, identical engine (see the module notes on reproducibility).  An exception in the
    child is raised here as a RuntimeError carrying the child's traceback.  Forking is only safe
    from a process that runs no other threads (no torch/OpenMP work done yet, no tqdm monitor):
    :mod:`data_prep.synth_timit` calls it from fresh ("spawn") worker processes."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        status = 0
        try:
            os.close(r)
            try:
                payload = pickle.dumps((True, fn(*args, **kwargs)), protocol=pickle.HIGHEST_PROTOCOL)
            except BaseException:
                payload = pickle.dumps((False, traceback.format_exc()), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(w, "wb") as f:
                f.write(payload)
        except BaseException:
            status = 1
        finally:
            os._exit(status)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        payload = f.read()
    _, status = os.waitpid(pid, 0)
    if not payload:
        raise RuntimeError(f"espeak-ng child process {pid} died (wait status {status}) without a result")
    ok, value = pickle.loads(payload)
    if not ok:
        raise RuntimeError(f"in espeak-ng child process:\n{value}")
    return value
