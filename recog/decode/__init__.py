"""CTC decoders: greedy best path and prefix beam search."""

from .beam import prefix_beam_search, prefix_beam_search_batch
from .greedy import greedy, greedy_batch
from .types import Hypothesis

__all__ = ["Hypothesis", "greedy", "greedy_batch", "prefix_beam_search", "prefix_beam_search_batch"]
