"""N-gram language models for CTC decoding (shallow fusion).

A *token* is any string: a character (the word separator being ``<space>``), a phone or a word.
Everything here is unit-agnostic; the scorers at the bottom adapt a model to the symbols a CTC
model emits.

Contents
--------
:class:`NGramLM`
    A back-off n-gram model with ARPA semantics: every stored n-gram has a log10 probability and
    (except at the highest order) an optional log10 back-off weight.  Sentence markers are
    ``<s>`` (context only, never predicted) and ``</s>``; tokens outside the vocabulary map to
    ``<unk>``.  ``logprob``/``score_sentence``/``perplexity`` use natural logs; a small stateful
    interface (``start``/``advance``/``finish``) with cached results serves the decoder.
:func:`recog.decode.kneser_ney.train_kneser_ney`
    Interpolated modified Kneser-Ney (Chen & Goodman 1998), written out as an exact ARPA back-off
    model (the method, exactly: that module's docstring).
:func:`recog.decode.arpa.read_arpa` / :func:`recog.decode.arpa.write_arpa`
    ARPA text files (also the ones produced by KenLM ``lmplz`` and SRILM ``ngram-count``).
:class:`CharLMScorer` / :class:`WordLMScorer`
    The scorer interface used by :func:`recog.decode.beam.prefix_beam_search`:
    ``initial_state()``, ``score_extend(state, symbol) -> (delta_logp, new_state)`` (``-inf``
    prunes the extension), ``score_final(state) -> delta_logp``, plus ``units_extend`` /
    ``units_final`` which count the units the insertion bonus ``beta`` applies to.
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Protocol, Sequence

BOS = "<s>"
EOS = "</s>"
UNK = "<unk>"
SPACE = "<space>"

LN10 = math.log(10.0)
NEG_INF = float("-inf")
#: log10 probability ARPA files conventionally give ``<s>`` (it is never predicted)
BOS_LOG10 = -99.0

Ngram = tuple[str, ...]



class NGramLM:
    """A back-off n-gram language model (ARPA semantics).

    Args:
        order: highest n-gram order ``N``.
        probs: ``{ngram tuple: log10 p(last | rest)}`` for every stored n-gram, orders ``1..N``.
        backoffs: ``{ngram tuple: log10 back-off weight}``; missing entries mean 0 (weight 1).
        discounts: optional training metadata, ``{n: (D1, D2, D3+)}``.

    Attributes:
        vocab: frozenset of all unigram tokens (includes ``<s>``, ``</s>`` and ``<unk>`` when the
            model has them).

    Lookups follow standard back-off: ``log p(w | h) = log p(h w)`` if ``h w`` is stored, else
    ``bow(h) + log p(w | h[1:])``; a token not in ``vocab`` is scored (and kept in contexts) as
    ``<unk>``; if the model has no ``<unk>`` its probability is 0 (log ``-inf``).
    """

    def __init__(
        self,
        order: int,
        probs: dict[Ngram, float],
        backoffs: dict[Ngram, float] | None = None,
        discounts: dict[int, tuple[float, float, float]] | None = None,
    ) -> None:
        if order < 1:
            raise ValueError("order must be >= 1")
        self.order = int(order)
        self.probs = dict(probs)
        self.backoffs = dict(backoffs or {})
        self.discounts = dict(discounts or {})
        for g in self.probs:
            if not 1 <= len(g) <= self.order:
                raise ValueError(f"n-gram {' '.join(g)!r} has order {len(g)} outside 1..{self.order}")
        self.vocab = frozenset(g[0] for g in self.probs if len(g) == 1)
        self.has_unk = UNK in self.vocab
        # States for the decoding interface: every stored n-gram of order < N and every prefix of
        # a stored n-gram.  A history suffix outside this set has no back-off weight and no
        # extensions, so dropping it never changes a score (exact state merging).
        states: set[Ngram] = set()
        for g in self.probs:
            for k in range(1, min(len(g), self.order - 1) + 1):
                states.add(g[:k])
        states.update(g for g in self.backoffs if len(g) < self.order)
        self._states = frozenset(states)
        self._cache: dict[tuple[Ngram, str], tuple[float, Ngram]] = {}

    # ----------------------------------------------------------------------------- queries
    def counts(self) -> list[int]:
        """Number of stored n-grams per order, ``[n1, ..., nN]``."""
        c = [0] * self.order
        for g in self.probs:
            c[len(g) - 1] += 1
        return c

    def _map(self, token: str) -> str:
        return token if token in self.vocab else UNK

    def logprob10(self, token: str, context: Sequence[str] = ()) -> float:
        """``log10 p(token | context)`` with back-off; only the last ``N-1`` context tokens count."""
        w = self._map(token)
        n_ctx = self.order - 1
        ctx = tuple(self._map(c) for c in context[max(0, len(context) - n_ctx) :]) if n_ctx else ()
        probs, backoffs = self.probs, self.backoffs
        bo = 0.0
        for i in range(len(ctx) + 1):
            h = ctx[i:]
            p = probs.get(h + (w,))
            if p is not None:
                return bo + p
            bo += backoffs.get(h, 0.0)
        return NEG_INF  # w (or <unk>) is not even a unigram

    def logprob(self, token: str, context: Sequence[str] = ()) -> float:
        """Natural-log ``log p(token | context)`` (see :meth:`logprob10`)."""
        return self.logprob10(token, context) * LN10

    def score_sentence(self, tokens: Sequence[str], bos: bool = True, eos: bool = True) -> float:
        """Natural-log probability of a sentence: every token given its history (starting from
        ``<s>`` if ``bos``), plus ``</s>`` at the end if ``eos``."""
        hist: list[str] = [BOS] if bos else []
        total = 0.0
        for t in tokens:
            total += self.logprob(t, hist)
            hist.append(t)
        if eos:
            total += self.logprob(EOS, hist)
        return total

    def perplexity(self, sentences: Iterable[Sequence[str]]) -> float:
        """``exp(-sum log p / count)`` over all tokens and one ``</s>`` per sentence (the usual
        SRILM/KenLM convention).  ``inf`` if some token has probability 0."""
        total = 0.0
        count = 0
        for s in sentences:
            total += self.score_sentence(s)
            count += len(s) + 1
        if count == 0:
            raise ValueError("perplexity of an empty corpus")
        return math.exp(-total / count)

    # ------------------------------------------------------------ stateful (for decoding)
    def _truncate(self, hist: Ngram) -> Ngram:
        """Longest suffix of ``hist`` (at most ``N-1`` tokens) that is a model state."""
        if self.order == 1:
            return ()
        hist = hist[max(0, len(hist) - (self.order - 1)) :]
        states = self._states
        for i in range(len(hist)):
            if hist[i:] in states:
                return hist[i:]
        return ()

    def start(self) -> Ngram:
        """State at the start of a sentence (after ``<s>``)."""
        return self._truncate((BOS,))

    def clear_cache(self) -> None:
        """Forget the cached ``advance`` results (a benchmark's cold start)."""
        self._cache.clear()

    def advance(self, state: Ngram, token: str) -> tuple[float, Ngram]:
        """Score ``token`` after ``state``: ``(natural log p, new state)``.  Cached."""
        key = (state, token)
        r = self._cache.get(key)
        if r is None:
            w = self._map(token)
            r = (self.logprob10(w, state) * LN10, self._truncate(state + (w,)))
            self._cache[key] = r
        return r

    def finish(self, state: Ngram) -> float:
        """Natural-log probability of ``</s>`` after ``state``."""
        return self.advance(state, EOS)[0]

    def __repr__(self) -> str:
        counts = ", ".join(f"{n + 1}-grams={c}" for n, c in enumerate(self.counts()))
        return f"NGramLM(order={self.order}, {counts})"


# ------------------------------------------------------------------------ decoder scorers
class LMScorer(Protocol):
    """What :func:`recog.decode.beam.prefix_beam_search` needs from a language model.

    States are opaque, hashable values.  All scores are natural logs.
    """

    def initial_state(self) -> Any: ...

    def score_extend(self, state: Any, symbol: str) -> tuple[float, Any]:
        """LM log-probability change when ``symbol`` is appended; ``-inf`` prunes."""
        ...

    def score_final(self, state: Any) -> float:
        """LM log-probability change when the hypothesis ends (``</s>``, pending words)."""
        ...

    def units_extend(self, state: Any, symbol: str) -> int:
        """Number of units (for the insertion bonus) that appending ``symbol`` completes."""
        ...

    def units_final(self, state: Any) -> int:
        """Number of units that ending the hypothesis completes."""
        ...


class CharLMScorer:
    """Token-level fusion: every emitted CTC symbol is one LM token.

    Meant for a character n-gram (trained on :meth:`recog.tokens.SymbolTable.split` output, so
    the word separator is the token ``<space>``) but works for any unit whose CTC symbols are
    the LM's tokens (phones, words).  The insertion bonus counts every emitted symbol.
    """

    def __init__(self, lm: NGramLM) -> None:
        self.lm = lm

    def initial_state(self) -> Ngram:
        return self.lm.start()

    def score_extend(self, state: Ngram, symbol: str) -> tuple[float, Ngram]:
        return self.lm.advance(state, symbol)

    def score_final(self, state: Ngram) -> float:
        return self.lm.finish(state)

    def units_extend(self, state: Ngram, symbol: str) -> int:
        return 1

    def units_final(self, state: Ngram) -> int:
        return 0


class WordLMScorer:
    """Word-level fusion for a character CTC model.

    The state is ``(lm_state, partial_word)``.  Characters accumulate in ``partial_word``
    (multi-character symbols are concatenated); a ``space`` symbol completes the pending word,
    which is then scored by the word n-gram; :meth:`score_final` scores the last pending word and
    ``</s>``.  A ``space`` with no pending word (leading or doubled separators) is a no-op.

    With a ``lexicon`` (an iterable of words), a character that makes the pending word a
    non-prefix of every lexicon word, a separator completing a non-word, and an end with a
    pending non-word all score ``-inf`` (the beam search drops such prefixes), so decoded words
    are always lexicon words.  Without one, any word is allowed and unknown ones score as
    ``<unk>``.  The insertion bonus counts words.

    No LM look-ahead is done: a word's LM score arrives at once when it is completed.
    """

    def __init__(self, lm: NGramLM, lexicon: Iterable[str] | None = None, space: str = SPACE) -> None:
        self.lm = lm
        self.space = space
        self.lexicon: frozenset[str] | None = None
        self.prefixes: frozenset[str] | None = None
        if lexicon is not None:
            words = frozenset(w for w in lexicon if w)
            self.lexicon = words
            self.prefixes = frozenset(w[:i] for w in words for i in range(1, len(w) + 1))
        self._cache: dict[tuple[Any, str], tuple[float, Any]] = {}

    def initial_state(self) -> tuple[Ngram, str]:
        return (self.lm.start(), "")

    def _word(self, lm_state: Ngram, word: str) -> tuple[float, Ngram]:
        if self.lexicon is not None and word not in self.lexicon:
            return NEG_INF, lm_state
        return self.lm.advance(lm_state, word)

    def score_extend(self, state: tuple[Ngram, str], symbol: str) -> tuple[float, tuple[Ngram, str]]:
        key = (state, symbol)
        r = self._cache.get(key)
        if r is None:
            lm_state, partial = state
            if symbol == self.space:
                if not partial:
                    r = (0.0, state)
                else:
                    lp, st = self._word(lm_state, partial)
                    r = (lp, (st, ""))
            else:
                partial += symbol
                if self.prefixes is not None and partial not in self.prefixes:
                    r = (NEG_INF, (lm_state, partial))
                else:
                    r = (0.0, (lm_state, partial))
            self._cache[key] = r
        return r

    def score_final(self, state: tuple[Ngram, str]) -> float:
        lm_state, partial = state
        lp = 0.0
        if partial:
            lp, lm_state = self._word(lm_state, partial)
            if lp == NEG_INF:
                return lp
        return lp + self.lm.finish(lm_state)

    def units_extend(self, state: tuple[Ngram, str], symbol: str) -> int:
        return 1 if symbol == self.space and state[1] else 0

    def units_final(self, state: tuple[Ngram, str]) -> int:
        return 1 if state[1] else 0


#: the word-LM adapter for character CTC models (same class)
WordLM = WordLMScorer

__all__ = [
    "BOS",
    "EOS",
    "UNK",
    "CharLMScorer",
    "LMScorer",
    "NGramLM",
    "WordLM",
    "WordLMScorer",
]
