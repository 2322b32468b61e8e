"""CTC prefix beam search (Graves 2012; Hannun et al. 2014).

Every prefix (a collapsed label sequence) keeps two log probabilities: ``p_b``, the mass of
paths that produce the prefix and end in blank, and ``p_nb``, the mass of those that end in its
last symbol.  At each frame a prefix can

* stay the same by emitting blank (from ``p_b + p_nb``) or by repeating its last symbol
  (only from ``p_nb``: a repeat without a blank in between collapses);
* grow by a symbol ``c``: from ``p_b + p_nb`` if ``c`` differs from the last symbol, and only
  from ``p_b`` if it is the same (a repeated label needs a blank between the two copies).

After each frame the ``beam`` prefixes with the highest rank are kept.  Without a language
model the rank is the total acoustic log probability ``logaddexp(p_b, p_nb)``.

Shallow fusion: with an LM scorer (:mod:`recog.decode.lm`), the rank becomes
``acoustic + alpha * LM + beta * units``.  A prefix's LM score depends only on its labels, so it
is computed once per prefix (trie node) and added at ranking time; ``p_b`` and
``p_nb`` stay purely acoustic.  This is the same search as multiplying the LM factor into every
extension (Hannun et al. 2014), since all paths into a prefix carry the same LM factor.

Timing follows the best contribution into each prefix: a symbol's start frame is the frame at
which it was appended on that path, its end frame the last frame at which that path repeated
it, and its confidence the largest posterior seen over those frames.

Implementation: :func:`prefix_beam_search` runs the compiled kernel of
:mod:`recog.decode.fast_beam` (``_beam.cpp``, built by ``pip install``), which reproduces
:func:`recog.decode.beam_reference.prefix_beam_search_reference` (Python, the specification)
bit for bit and falls back to it when the kernel was not built.  :func:`prefix_beam_search_batch`
decodes many utterances on all cores.  Optional extra pruning (off by default): ``prune_topk`` and
``prune_cumprob`` limit the symbols that extend prefixes at a frame, ``beam_threshold`` drops
prefixes far below the frame's best.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from . import fast_beam
from .beam_reference import check_args, prefix_beam_search_reference
from .types import Hypothesis


def prefix_beam_search(
    logp: np.ndarray | torch.Tensor,
    beam: int = 10,
    blank: int = 0,
    prune_logp: float | None = -10.0,
    nbest: int = 1,
    lm=None,
    alpha: float = 0.0,
    beta: float = 0.0,
    symbols: Sequence[str] | None = None,
    *,
    prune_topk: int | None = None,
    prune_cumprob: float | None = None,
    beam_threshold: float | None = None,
) -> list[Hypothesis]:
    """CTC prefix beam search over one utterance, optionally with LM shallow fusion.

    Args:
        logp: (T, V) log posteriors.
        beam: number of prefixes kept after each frame.
        blank: index of the CTC blank.
        prune_logp: at each frame, symbols whose log probability is below this are not used to
            extend prefixes (blank and the repeat of each prefix's last symbol are always
            scored).  ``None`` disables pruning, which makes the search exact when ``beam`` is at
            least the number of distinct prefixes.
        nbest: number of hypotheses returned.
        lm: optional LM scorer (:class:`recog.decode.lm.CharLMScorer`,
            :class:`recog.decode.lm.WordLMScorer`, or anything with their interface).  Prefixes
            it scores ``-inf`` (e.g. outside a lexicon) are dropped, whatever ``alpha``.
        alpha: LM weight.
        beta: insertion bonus per unit: per emitted symbol with a ``CharLMScorer``, per
            completed word with a ``WordLMScorer`` (the scorer's ``units_extend`` /
            ``units_final`` define the unit).  Used only with an LM.
        symbols: index -> symbol string (``SymbolTable.symbols``, or the table itself), required
            with ``lm``.
        prune_topk: if set, only the ``k`` most probable non-blank symbols of a frame extend
            prefixes (on top of ``prune_logp``).
        prune_cumprob: if set, only the most probable symbols of a frame whose probabilities
            (blank included, in decreasing order) first add up to this extend prefixes.
        beam_threshold: if set, prefixes ranked more than this below the frame's best are dropped
            before the ``beam`` best are kept.  ``None`` for all three (the default) keeps the
            search as described above.

    Runs the compiled kernel (:mod:`recog.decode.fast_beam`) when it was built, else the
    pure-Python :func:`recog.decode.beam_reference.prefix_beam_search_reference`; both give
    identical results.  With an LM the kernel calls the scorer once per new (LM state, symbol)
    pair, batched per frame.

    Returns:
        Up to ``nbest`` hypotheses, best first.  Without an LM each ``score`` (= ``am_score``) is
        the total log probability of its label sequence, ``logaddexp(p_b, p_nb)``.  With an LM,
        ``score = am_score + alpha * lm_score + beta * units`` where ``lm_score`` includes the
        end of sentence (and, for a word LM, the last pending word); hypotheses are ranked by
        that fused score, and at the last frame all candidates are ranked by it instead of first
        pruning to ``beam`` by the unfinished score.  If no candidate survives the LM
        constraints at the end, a single empty hypothesis with score ``-inf`` is returned.
    """
    x, syms = check_args(logp, beam, blank, nbest, lm, symbols, prune_topk, prune_cumprob, beam_threshold)
    if fast_beam.available():
        return fast_beam.search(
            x, beam=beam, blank=blank, prune_logp=prune_logp, nbest=nbest, lm=lm, alpha=alpha, beta=beta,
            symbols=syms, prune_topk=prune_topk, prune_cumprob=prune_cumprob, beam_threshold=beam_threshold,
        )
    fast_beam.warn_unavailable()
    return prefix_beam_search_reference(
        x, beam=beam, blank=blank, prune_logp=prune_logp, nbest=nbest, lm=lm, alpha=alpha, beta=beta,
        symbols=syms, prune_topk=prune_topk, prune_cumprob=prune_cumprob, beam_threshold=beam_threshold,
    )


def prefix_beam_search_batch(
    logps: Sequence[np.ndarray | torch.Tensor] | np.ndarray | torch.Tensor,
    beam: int = 10,
    blank: int = 0,
    prune_logp: float | None = -10.0,
    nbest: int = 1,
    lm=None,
    alpha: float = 0.0,
    beta: float = 0.0,
    symbols: Sequence[str] | None = None,
    *,
    prune_topk: int | None = None,
    prune_cumprob: float | None = None,
    beam_threshold: float | None = None,
    lengths: Sequence[int] | np.ndarray | torch.Tensor | None = None,
    workers: int = 0,
) -> list[list[Hypothesis]]:
    """:func:`prefix_beam_search` over many utterances, in parallel; one n-best list each, in order.

    ``logps`` is a sequence of (T_i, V) matrices, or a padded (B, T, V) array/tensor with
    ``lengths`` (all T if None).  ``workers``: 0 uses every CPU this process may run on, 1 decodes
    here one utterance after the other, ``n`` uses ``n`` workers.  The compiled search releases
    the GIL (with an LM it takes it back only to ask the scorer about LM states it has not seen,
    whose answers are kept per scorer across calls), so the workers are threads: no start-up,
    nothing pickled, one shared LM cache.  Without the compiled kernel they are processes (forked
    where the platform allows, so an LM is not pickled).  Results equal per-utterance calls
    exactly.
    """
    items = fast_beam.split_batch(logps, lengths)
    kwargs = dict(
        beam=beam, blank=blank, prune_logp=prune_logp, nbest=nbest, lm=lm, alpha=alpha, beta=beta, symbols=symbols,
        prune_topk=prune_topk, prune_cumprob=prune_cumprob, beam_threshold=beam_threshold,
    )
    return fast_beam.run_batch(prefix_beam_search, items, kwargs, workers, threads=fast_beam.available())
