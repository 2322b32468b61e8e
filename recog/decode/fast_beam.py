"""Fast CTC prefix beam search: glue around the compiled kernel ``recog.decode._beam``.

The kernel (``_beam.cpp``, built by ``pip install``) runs the whole search of
:func:`recog.decode.beam.prefix_beam_search` in C++ and gives the same hypotheses, scores, frames
and confidences as the pure-Python
:func:`recog.decode.beam_reference.prefix_beam_search_reference`, to the last bit.  What makes it
fast, beyond being compiled:

* trie nodes are created only for prefixes that enter the beam, and per frame the candidates
  live in one flat array; an extension merges with an existing prefix through a (beam x V) table
  rather than a dictionary of prefixes;
* the per-symbol timing (start and end frame, peak posterior) is kept as back-pointers that are
  written only for the candidates that survive a frame and unrolled only for the returned
  hypotheses;
* it releases the GIL (with an LM it takes it back only for the scorer), so
  :func:`recog.decode.beam.prefix_beam_search_batch` decodes utterances on all cores with threads.

With an LM the acoustic search stays in C++ and the scorer (Python) is called through
:class:`_LMBridge`: once per frame at most, for the (LM state, symbol) pairs it was never asked
about, and once at the end for the end-of-sentence scores of new states.  LM states are interned
as integers and the answers are kept, per scorer object, across utterances (:class:`_LMCache`):
a scorer must therefore be a pure function of ``(state, symbol)`` with hashable states, as
:class:`recog.decode.lm.LMScorer` requires (the shipped scorers cache the same way themselves).

A :class:`recog.decode.lm.CharLMScorer` (character, phone, or word tokens for a word model:
token-level fusion) or :class:`recog.decode.lm.WordLMScorer` (a word n-gram for a character
model, with or without a lexicon) over an :class:`recog.decode.lm.NGramLM` needs no Python at all:
the n-gram is copied once into the kernel (``_ngram.h``, :func:`native_ngram`) and queried there,
and the kernel's fast step (early stopping bounded by the LM's largest possible gain) runs with
it.  Other scorers (subclasses, user scorers) take the callback path.  Both give the reference's
results to the last bit.

If the kernel was not built (no C++ compiler at install time), :func:`available` is False and
the search falls back to the Python implementation with a one-time warning.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
import weakref
from typing import Any, Sequence

import numpy as np
import torch

from .lm import EOS, UNK, CharLMScorer, NGramLM, WordLMScorer
from .types import Hypothesis

try:  # built by `pip install` (pyproject.toml: tool.setuptools.ext-modules), optional
    from . import _beam as _kernel
except ImportError:  # pragma: no cover - depends on the install
    _kernel = None

NEG_INF = float("-inf")
_warned = False


def available() -> bool:
    """Whether the compiled kernel was built and imports."""
    return _kernel is not None


def warn_unavailable() -> None:
    global _warned
    if not _warned:
        _warned = True
        warnings.warn(
            "recog.decode._beam (the compiled beam search) is not built; using the much slower "
            "pure-Python search. Reinstall with a C++ compiler present: pip install -e .",
            RuntimeWarning,
            stacklevel=3,
        )


class _LMCache:
    """What an LM scorer answered, kept across utterances: the interned states (0 = initial) and
    the kernel's table of transitions and end scores over their ids.  Held per (scorer, symbol
    list) in a weak dictionary, so it lives as long as the scorer; it never references the scorer."""

    MAX_STATES = 2_000_000  # start afresh beyond this many interned states

    def __init__(self, initial_state: Any):
        self.states: list[Any] = [initial_state]
        self.ids: dict[Any, int] = {initial_state: 0}
        self.table = _kernel.lm_table()  # type: ignore[union-attr]
        self.lock = threading.Lock()


_caches: "weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], _LMCache]]" = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def _cache_for(scorer, symbols: list[str]) -> _LMCache:
    key = tuple(symbols)
    with _caches_lock:
        try:
            per = _caches.get(scorer)
            if per is None:
                per = _caches[scorer] = {}
        except TypeError:  # not weak-referenceable or not hashable: a cache for this call only
            return _LMCache(scorer.initial_state())
        cache = per.get(key)
        if cache is None or len(cache.states) > _LMCache.MAX_STATES:
            cache = per[key] = _LMCache(scorer.initial_state())
        return cache


class _LMBridge:
    """Serves the kernel's LM requests for one search, through the scorer's persistent cache."""

    def __init__(self, scorer, symbols: list[str], cache: _LMCache):
        self.scorer = scorer
        self.symbols = symbols
        self.cache = cache

    def extend(self, state_ids: list[int], syms: list[int]) -> tuple[list[float], list[int], list[int]]:
        score_extend, units_extend = self.scorer.score_extend, self.scorer.units_extend
        cache, symbols = self.cache, self.symbols
        states, ids = cache.states, cache.ids
        deltas: list[float] = []
        nxt: list[int] = []
        units: list[int] = []
        with cache.lock:
            for s, c in zip(state_ids, syms):
                st, sym = states[s], symbols[c]
                delta, st2 = score_extend(st, sym)
                deltas.append(float(delta))
                i = ids.get(st2)
                if i is None:
                    i = ids[st2] = len(states)
                    states.append(st2)
                nxt.append(i)
                units.append(int(units_extend(st, sym)))
        return deltas, nxt, units

    def final(self, state_ids: list[int]) -> tuple[list[float], list[int]]:
        states = [self.cache.states[s] for s in state_ids]
        return (
            [float(self.scorer.score_final(st)) for st in states],
            [int(self.scorer.units_final(st)) for st in states],
        )


_natives: "weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], Any]]" = weakref.WeakKeyDictionary()


def _compile_ngram(lm: NGramLM, symbols: Sequence[str], words: WordLMScorer | None = None):
    """The kernel's copy of ``lm`` (every stored n-gram, back-off weight and decoder state, as
    token ids) for CTC symbols ``symbols``; the symbols (or, with ``words``, the words they spell)
    map to LM tokens as ``NGramLM._map`` does."""
    grams = sorted(set(lm.probs) | set(lm.backoffs) | set(lm._states) | {()})
    vocab = {t: i for i, t in enumerate(sorted({t for g in grams for t in g}))}
    missing = len(vocab)  # a token id the model has no n-gram for

    def tid(token: str) -> int:
        return vocab.get(token if token in lm.vocab else UNK, missing)

    ids = [tuple(vocab[t] for t in g) for g in grams]
    probs = [lm.probs.get(g) for g in grams]
    bows = [float(lm.backoffs.get(g, 0.0)) for g in grams]
    states = [g in lm._states for g in grams]
    start = tuple(vocab[t] for t in lm.start())
    spec = None
    if words is not None:
        space = list(symbols).index(words.space) if words.space in symbols else -1
        lexicon = sorted(words.lexicon) if words.lexicon is not None else None
        spec = (list(symbols), space, sorted(vocab, key=vocab.get), tid(UNK), lexicon)
        symbols = []
    return _kernel.ngram(lm.order, ids, probs, bows, states, [tid(s) for s in symbols], tid(EOS), start,  # type: ignore[union-attr]
                         spec)


def native_ngram(scorer, symbols: Sequence[str] | None):
    """The kernel's n-gram for ``scorer`` if it is a plain :class:`CharLMScorer` (built once per LM
    and symbol list, then shared) or :class:`WordLMScorer` (once per scorer: the lexicon is the
    scorer's) over an :class:`NGramLM`, else None (the callback path)."""
    kind = type(scorer)
    if kind not in (CharLMScorer, WordLMScorer) or type(scorer.lm) is not NGramLM or symbols is None:
        return None
    owner, key = (scorer.lm, tuple(symbols)) if kind is CharLMScorer else (scorer, ("words",) + tuple(symbols))
    with _caches_lock:
        per = _natives.setdefault(owner, {})
        model = per.get(key)
        if model is None:
            model = per[key] = _compile_ngram(scorer.lm, symbols, scorer if kind is WordLMScorer else None)
        return model


def search(
    x: np.ndarray,
    beam: int,
    blank: int,
    prune_logp: float | None,
    nbest: int,
    lm,
    alpha: float,
    beta: float,
    symbols: list[str] | None,
    prune_topk: int | None,
    prune_cumprob: float | None,
    beam_threshold: float | None,
) -> list[Hypothesis]:
    """Run the kernel on a validated C-contiguous float64 (T, V) matrix (see
    :func:`recog.decode.beam.prefix_beam_search` for the arguments)."""
    native = native_ngram(lm, symbols) if lm is not None else None
    ext = fin = table = None
    if lm is not None and native is None:  # a scorer in Python, called back
        cache = _cache_for(lm, symbols)  # type: ignore[arg-type]
        bridge = _LMBridge(lm, symbols, cache)  # type: ignore[arg-type]
        ext, fin, table = bridge.extend, bridge.final, cache.table
    rows = _kernel.search(  # type: ignore[union-attr]
        x,
        int(beam),
        int(blank),
        int(nbest),
        None if prune_logp is None else float(prune_logp),
        0 if prune_topk is None else int(prune_topk),
        -1.0 if prune_cumprob is None else float(prune_cumprob),
        None if beam_threshold is None else float(beam_threshold),
        ext,
        fin,
        float(alpha),
        float(beta),
        table,
        native,
    )
    if not rows:  # only with an LM: nothing survived its constraints
        return [Hypothesis(tokens=[], score=NEG_INF, am_score=NEG_INF, lm_score=NEG_INF)]
    return [
        Hypothesis(
            tokens=tokens,
            score=score,
            start_frames=starts,
            end_frames=ends,
            confidences=[min(1.0, max(0.0, math.exp(p))) for p in peaks],
            am_score=am,
            lm_score=lm_score,
        )
        for tokens, score, am, lm_score, starts, ends, peaks in rows
    ]


# ------------------------------------------------------------------------------ batches
def split_batch(logps, lengths=None) -> list[np.ndarray]:
    """A list of (T_i, V) matrices from a sequence of them or from a padded (B, T, V) batch."""
    if isinstance(logps, (np.ndarray, torch.Tensor)) and logps.ndim == 3:
        if isinstance(logps, torch.Tensor):
            logps = logps.detach().to("cpu", torch.float64).numpy()
        B, T = logps.shape[:2]
        if lengths is None:
            lens = [T] * B
        else:
            if isinstance(lengths, torch.Tensor):
                lengths = lengths.detach().cpu().numpy()
            lens = [int(n) for n in np.asarray(lengths).reshape(-1)]
            if len(lens) != B or any(not 0 <= n <= T for n in lens):
                raise ValueError(f"lengths must be {B} values in [0, {T}]")
        return [logps[b, : lens[b]] for b in range(B)]
    if lengths is not None:
        raise ValueError("lengths apply to a padded (B, T, V) batch only")
    return list(logps)


def usable_cpus() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


_worker: tuple | None = None  # (search function, its keyword arguments) in a pool worker


def _init_worker(search, kwargs: dict) -> None:
    global _worker
    _worker = (search, kwargs)
    torch.set_num_threads(1)


def _work(x) -> list[Hypothesis]:
    search, kwargs = _worker  # type: ignore[misc]
    return search(x, **kwargs)


def run_batch(search, items: Sequence, kwargs: dict, workers: int, threads: bool) -> list[list[Hypothesis]]:
    """``search(x, **kwargs)`` over ``items`` with ``workers`` threads or processes.  The search is
    passed in (``beam.prefix_beam_search``) so that this module does not import ``beam``, which
    imports it: the dependency runs one way."""
    if workers < 0:
        raise ValueError("workers must be >= 0")
    n = len(items)
    w = min(n, workers or usable_cpus())
    if w <= 1:
        return [search(x, **kwargs) for x in items]
    if threads:
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(max_workers=w) as ex:
            return list(ex.map(lambda x: search(x, **kwargs), items))
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    methods = mp.get_all_start_methods()
    ctx = mp.get_context("fork" if "fork" in methods else None)
    # tensors travel as arrays (no shared-memory file descriptors)
    arrays = [x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x) for x in items]
    chunk = max(1, n // (4 * w))
    with ProcessPoolExecutor(max_workers=w, mp_context=ctx, initializer=_init_worker, initargs=(search, kwargs)) as ex:
        return list(ex.map(_work, arrays, chunksize=chunk))
