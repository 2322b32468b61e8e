"""The compiled beam search (recog.decode.fast_beam) against the pure-Python reference.

The kernel is meant to reproduce the reference operation for operation, so hypotheses are
compared whole (tokens, scores, frames, confidences, LM parts) for exact equality; scores are
also checked to 1e-6 to give a readable failure first.
"""

from __future__ import annotations

import itertools
import warnings
from collections import defaultdict

import numpy as np
import pytest
import torch

from recog.decode import fast_beam, prefix_beam_search, prefix_beam_search_batch
from recog.decode.beam_reference import prefix_beam_search_reference as reference
from recog.decode.kneser_ney import train_kneser_ney
from recog.decode.lm import CharLMScorer, NGramLM, WordLMScorer
from recog.tokens import SymbolTable

needs_kernel = pytest.mark.skipif(not fast_beam.available(), reason="compiled kernel not built")


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def _peaky(rng: np.random.Generator, T: int, V: int) -> np.ndarray:
    logits = rng.standard_normal((T, V))
    ids = np.where(rng.random(T) < 0.65, 0, rng.integers(1, V, T))
    logits[np.arange(T), ids] += rng.uniform(4.0, 12.0, T)
    return _log_softmax(logits)


def _flat(rng: np.random.Generator, T: int, V: int) -> np.ndarray:
    return _log_softmax(0.5 * rng.standard_normal((T, V)))


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x.tokens == y.tokens
        assert x.score == pytest.approx(y.score, abs=1e-6)
    assert a == b  # every field, exactly


@needs_kernel
@pytest.mark.parametrize("kind", ["peaky", "flat"])
@pytest.mark.parametrize("beam", [1, 4, 25])
def test_matches_reference_on_random_matrices(kind: str, beam: int) -> None:
    rng = np.random.default_rng([len(kind), beam])
    make = _peaky if kind == "peaky" else _flat
    for _ in range(4):
        T, V = int(rng.integers(1, 80)), int(rng.integers(2, 30))
        lp = make(rng, T, V)
        for prune in (-10.0, None):
            kw = dict(beam=beam, nbest=min(beam, 5), prune_logp=prune)
            _same(prefix_beam_search(lp, **kw), reference(lp, **kw))


@needs_kernel
@pytest.mark.parametrize("seed", range(6))
def test_matches_reference_with_pruning_options(seed: int) -> None:
    rng = np.random.default_rng(1000 + seed)
    T, V = int(rng.integers(5, 60)), int(rng.integers(3, 20))
    lp = _peaky(rng, T, V) if seed % 2 else _flat(rng, T, V)
    for kw in (
        dict(prune_topk=int(rng.integers(1, V))),
        dict(prune_cumprob=float(rng.uniform(0.3, 0.99))),
        dict(beam_threshold=float(rng.uniform(0.0, 8.0))),
        dict(prune_topk=3, prune_cumprob=0.9, beam_threshold=2.0, prune_logp=None),
    ):
        _same(prefix_beam_search(lp, beam=8, nbest=4, **kw), reference(lp, beam=8, nbest=4, **kw))


@needs_kernel
def test_matches_reference_with_ties_and_impossible_symbols() -> None:
    rng = np.random.default_rng(3)
    for trial in range(40):
        T, V = int(rng.integers(1, 30)), int(rng.integers(2, 8))
        if trial % 3 == 0:
            lp = np.full((T, V), -np.log(V))  # every extension ties
        elif trial % 3 == 1:
            lp = _log_softmax(np.round(rng.standard_normal((T, V))))  # many ties
        else:
            lp = _log_softmax(3 * rng.standard_normal((T, V)))
            lp[rng.random((T, V)) < 0.2] = -np.inf
        kw = dict(beam=int(rng.integers(1, 12)), nbest=3, prune_logp=None if trial % 2 else -10.0)
        _same(prefix_beam_search(lp, **kw), reference(lp, **kw))


def _collapse(path: tuple[int, ...]) -> tuple[int, ...]:
    out, prev = [], None
    for s in path:
        if s != prev and s != 0:
            out.append(s)
        prev = s
    return tuple(out)


@needs_kernel
@pytest.mark.parametrize("seed", range(8))
def test_exhaustive_tiny_cases(seed: int) -> None:
    rng = np.random.default_rng(50 + seed)
    T = int(rng.integers(1, 6))
    lp = _log_softmax(1.5 * rng.standard_normal((T, 3)))
    probs: dict[tuple[int, ...], float] = defaultdict(float)
    p = np.exp(lp)
    for path in itertools.product(range(3), repeat=T):
        probs[_collapse(path)] += float(np.prod(p[np.arange(T), path]))
    fast = prefix_beam_search(lp, beam=1000, prune_logp=None, nbest=len(probs))
    _same(fast, reference(lp, beam=1000, prune_logp=None, nbest=len(probs)))
    assert len(fast) == len(probs)
    for h in fast:
        assert h.score == pytest.approx(np.log(probs[tuple(h.tokens)]), abs=1e-6)


# ---------------------------------------------------------------------------------- LM
TEXTS = ["the cat", "a cat", "the hat", "a hat", "that cat sat", "the cat sat", "cat"]
TABLE = SymbolTable.from_texts(TEXTS + ["cot"], unit="char")
SYMS = TABLE.symbols
LEXICON = sorted({w for t in TEXTS for w in t.split()})


def _scorers():
    clm = train_kneser_ney([TABLE.split(t) for t in TEXTS], order=3)
    wlm = train_kneser_ney([t.split() for t in TEXTS], order=2)
    return [CharLMScorer(clm), WordLMScorer(wlm), WordLMScorer(wlm, lexicon=LEXICON)]


@needs_kernel
@pytest.mark.parametrize("seed", range(4))
def test_matches_reference_with_lm(seed: int) -> None:
    rng = np.random.default_rng(300 + seed)
    for scorer in _scorers():
        for T in (0, 1, 7, 30):
            lp = _log_softmax(float(rng.choice([1.0, 3.0])) * rng.standard_normal((T, len(SYMS))))
            kw = dict(beam=int(rng.integers(1, 16)), nbest=5, lm=scorer, alpha=float(rng.uniform(0, 1.5)),
                      beta=float(rng.uniform(-1, 2)), symbols=SYMS)
            _same(prefix_beam_search(lp, **kw), reference(lp, **kw))
            kw.update(beam_threshold=4.0, prune_topk=4)
            _same(prefix_beam_search(lp, **kw), reference(lp, **kw))


def _odd_ngram() -> NGramLM:
    """A hand-made 4-gram with what a trained model lacks: no <unk> (symbols outside the vocabulary
    are impossible), positive back-off weights (a probability bound above 0 is wrong for it), a
    stored 4-gram whose 3-gram suffix is missing, and <s> contexts."""
    probs = {("<s>",): -99.0, ("</s>",): -1.0, ("c",): -0.7, ("a",): -0.6, ("t",): -0.8, ("<space>",): -0.9,
             ("h",): -1.2, ("<s>", "c"): -0.3, ("c", "a"): -0.1, ("a", "t"): -0.2, ("t", "<space>"): -0.4,
             ("<s>", "c", "a"): -0.05, ("c", "a", "t"): -0.02, ("h", "c", "a", "<space>"): -0.01,
             ("t", "</s>"): -0.3}
    backoffs = {("<s>",): 0.2, ("c",): 0.3, ("a",): -0.1, ("c", "a"): 0.25, ("<s>", "c"): -0.2, ("h", "c", "a"): 0.1}
    return NGramLM(4, probs, backoffs)


@needs_kernel
@pytest.mark.parametrize("seed", range(3))
def test_ngram_in_the_kernel_matches_the_python_scorer(seed: int) -> None:
    """The n-gram copied into the kernel (CharLMScorer over an NGramLM) against the reference with
    the Python scorer, on trained models of orders 1-6 and an odd hand-made one."""
    rng = np.random.default_rng(500 + seed)
    lms = [train_kneser_ney([TABLE.split(t) for t in TEXTS], order=n) for n in (1, 2, 4, 6)] + [_odd_ngram()]
    for lm in lms:
        scorer = CharLMScorer(lm)
        assert fast_beam.native_ngram(scorer, SYMS) is not None
        for T in (1, 9, 40):
            peaky = rng.random() < 0.5
            lp = _peaky(rng, T, len(SYMS)) if peaky else _log_softmax(2.0 * rng.standard_normal((T, len(SYMS))))
            kw = dict(beam=int(rng.integers(1, 20)), nbest=4, lm=scorer, alpha=float(rng.uniform(0, 2)),
                      beta=float(rng.uniform(-1, 2)), symbols=SYMS)
            _same(prefix_beam_search(lp, **kw), reference(lp, **kw))
            kw.update(beam_threshold=3.0)
            _same(prefix_beam_search(lp, **kw), reference(lp, **kw))


@needs_kernel
@pytest.mark.parametrize("seed", range(3))
def test_word_ngram_in_the_kernel_matches_the_python_scorer(seed: int) -> None:
    """Word-level fusion in the kernel (WordLMScorer over an NGramLM): orders 1-3, with and without
    a lexicon (one that has a word the LM never saw, and lacks some it did)."""
    rng = np.random.default_rng(700 + seed)
    words = [t.split() for t in TEXTS]
    lexicons = [None, LEXICON, ["the", "cat", "cot", "hat"]]
    for order in (1, 2, 3):
        lm = train_kneser_ney(words, order=order)
        for lexicon in lexicons:
            scorer = WordLMScorer(lm, lexicon=lexicon)
            assert fast_beam.native_ngram(scorer, SYMS) is not None
            for T in (1, 12, 40):
                lp = _log_softmax(float(rng.choice([1.0, 3.0])) * rng.standard_normal((T, len(SYMS))))
                kw = dict(beam=int(rng.integers(1, 20)), nbest=4, lm=scorer, alpha=float(rng.uniform(0, 2)),
                          beta=float(rng.uniform(-1, 2)), symbols=SYMS)
                _same(prefix_beam_search(lp, **kw), reference(lp, **kw))
                kw.update(beam_threshold=3.0, prune_topk=5)
                _same(prefix_beam_search(lp, **kw), reference(lp, **kw))


@needs_kernel
def test_ngram_in_the_kernel_calls_no_python(monkeypatch) -> None:
    """Once copied, the n-gram is not asked again: the Python scorer may fail and nothing changes;
    a subclass (which may score differently) takes the callback path."""
    lm = train_kneser_ney([TABLE.split(t) for t in TEXTS], order=5)
    lp = _log_softmax(2.0 * np.random.default_rng(3).standard_normal((25, len(SYMS))))
    kw = dict(beam=8, nbest=3, lm=CharLMScorer(lm), alpha=0.8, beta=0.5, symbols=SYMS)
    expect = reference(lp, **kw)
    fast_beam.native_ngram(kw["lm"], SYMS)

    def boom(*a):
        raise AssertionError("the Python LM was called")

    monkeypatch.setattr(NGramLM, "advance", boom)
    assert prefix_beam_search(lp, **kw) == expect

    class Scaled(CharLMScorer):
        pass

    assert fast_beam.native_ngram(Scaled(lm), SYMS) is None
    with pytest.raises(AssertionError, match="Python LM was called"):
        prefix_beam_search(lp, **dict(kw, lm=Scaled(lm)))


@needs_kernel
def test_lm_errors_propagate() -> None:
    class Broken(CharLMScorer):
        def score_extend(self, state, symbol):
            raise RuntimeError("scorer failed")

    scorer = Broken(train_kneser_ney([TABLE.split(t) for t in TEXTS], order=2))
    lp = _log_softmax(np.random.default_rng(0).standard_normal((5, len(SYMS))))
    with pytest.raises(RuntimeError, match="scorer failed"):
        prefix_beam_search(lp, beam=4, lm=scorer, alpha=0.5, symbols=SYMS)


@needs_kernel
@pytest.mark.parametrize(
    "extend, final, message",
    [
        (lambda s, t: ([0.0] * len(s), [0] * len(s)), None, "extend callback must return three sequences"),
        (lambda s, t: ([0.0], [0], [0, 0]), None, "extend callback must return three sequences"),
        (lambda s, t: ([0.0] * len(s), ["x"] * len(s), [0] * len(s)), None, "integer"),
        (lambda s, t: ([-1.0] * len(s), [0] * len(s), [1] * len(s)), lambda s: ([0.0] * len(s),),
         "final callback must return two sequences"),
        (lambda s, t: ([-1.0] * len(s), [0] * len(s), [1] * len(s)), lambda s: (None, [0] * len(s)),
         "final callback must return two sequences"),
    ],
)
def test_malformed_lm_answers_raise_type_errors(extend, final, message) -> None:
    # what the kernel accepts from the LM callbacks: (deltas, next states, units) for extensions and
    # (deltas, units) at the end, each as long as the request; anything else is a TypeError, not a crash
    lp = _log_softmax(np.random.default_rng(0).standard_normal((4, 5)))
    final = final or (lambda s: ([0.0] * len(s), [0] * len(s)))
    with pytest.raises(TypeError, match=message):
        fast_beam._kernel.search(lp, 4, 0, 1, None, 0, -1.0, None, extend, final, 0.5, 0.0,
                                 fast_beam._kernel.lm_table())


# -------------------------------------------------------------------------------- batch
def _batch(seed: int, n: int = 6, V: int = 12) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [_peaky(rng, int(rng.integers(0, 60)), V) for _ in range(n)]


@pytest.mark.parametrize("workers", [1, 2, 0])
def test_batch_equals_single_calls(workers: int) -> None:
    items = _batch(7)
    singles = [prefix_beam_search(x, beam=6, nbest=3) for x in items]
    assert prefix_beam_search_batch(items, beam=6, nbest=3, workers=workers) == singles
    tensors = [torch.from_numpy(x.astype(np.float32)) for x in items]
    singles32 = [prefix_beam_search(x, beam=6, nbest=3) for x in tensors]
    assert prefix_beam_search_batch(tensors, beam=6, nbest=3, workers=workers) == singles32


def test_batch_padded_with_lengths() -> None:
    items = _batch(8, n=4)
    T = max(x.shape[0] for x in items)
    padded = np.zeros((len(items), T, items[0].shape[1]))
    for i, x in enumerate(items):
        padded[i, : x.shape[0]] = x
    lens = [x.shape[0] for x in items]
    singles = [prefix_beam_search(x, beam=5) for x in items]
    assert prefix_beam_search_batch(padded, lengths=lens, beam=5, workers=2) == singles
    assert prefix_beam_search_batch(torch.from_numpy(padded), lengths=torch.tensor(lens), beam=5) == singles
    with pytest.raises(ValueError):
        prefix_beam_search_batch(padded, lengths=[T + 1] * len(items))
    assert prefix_beam_search_batch([], beam=5) == []


def test_batch_with_lm_matches() -> None:
    rng = np.random.default_rng(9)
    items = [_log_softmax(2.0 * rng.standard_normal((int(rng.integers(1, 25)), len(SYMS)))) for _ in range(5)]
    for scorer in _scorers():
        kw = dict(beam=6, nbest=2, lm=scorer, alpha=0.6, beta=0.5, symbols=SYMS)
        fresh = [reference(x, **kw) for x in items]
        assert prefix_beam_search_batch(items, workers=2, **kw) == fresh  # cold LM cache, 2 threads
        assert prefix_beam_search_batch(items, workers=2, **kw) == fresh  # warm
        assert [prefix_beam_search(x, **kw) for x in items] == fresh


def test_batch_without_kernel_uses_processes(monkeypatch) -> None:
    items = _batch(12, n=4)
    expect = [reference(x, beam=5) for x in items]
    monkeypatch.setattr(fast_beam, "available", lambda: False)
    monkeypatch.setattr(fast_beam, "_warned", True)
    assert prefix_beam_search_batch(items, beam=5, workers=2) == expect


@needs_kernel
def test_threads_share_one_lm_cache() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rng = np.random.default_rng(21)
    items = [_log_softmax(2.0 * rng.standard_normal((30, len(SYMS)))) for _ in range(16)]
    scorer = _scorers()[1]
    kw = dict(beam=8, nbest=3, lm=scorer, alpha=0.7, beta=1.0, symbols=SYMS)
    expect = [reference(x, **kw) for x in items]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda x: prefix_beam_search(x, **kw), items * 3))
    assert got == expect * 3


# ------------------------------------------------------------------------ fallback, args
def test_fallback_without_kernel_warns_and_matches(monkeypatch) -> None:
    rng = np.random.default_rng(11)
    lp = _peaky(rng, 30, 8)
    expect = reference(lp, beam=5, nbest=2)
    monkeypatch.setattr(fast_beam, "available", lambda: False)
    monkeypatch.setattr(fast_beam, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert prefix_beam_search(lp, beam=5, nbest=2) == expect
    assert any("pure-Python" in str(w.message) for w in caught)


def test_argument_checks() -> None:
    lp = _log_softmax(np.zeros((3, 4)))
    for kw in (dict(beam=0), dict(nbest=0), dict(prune_topk=0), dict(prune_cumprob=0.0), dict(beam_threshold=-1.0)):
        with pytest.raises(ValueError):
            prefix_beam_search(lp, **kw)
    with pytest.raises(ValueError, match="blank"):
        prefix_beam_search(lp, blank=4)
    with pytest.raises(ValueError, match="workers"):
        prefix_beam_search_batch([lp, lp], workers=-1)
