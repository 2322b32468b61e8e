"""Progress bars of the inference verbs (``transcribe``, ``decode``, ``align``, ``filter``): a tqdm
bar on standard error, shown for more than ``THRESHOLD`` inputs when standard error is a terminal
(tqdm's ``disable=None``), never on standard output; ``--no-progress`` turns it off.  Messages
printed while a bar is shown go through :func:`write` so that they do not tear it."""

from __future__ import annotations

import sys

THRESHOLD = 20
FORCE = False  # show the bar even when standard error is not a terminal (tests)


def bar(total: int, enabled: bool = True, desc: str | None = None, unit: str = "input", iterable=None):
    """A tqdm bar over ``total`` items on standard error (a do-nothing one when not shown); with
    ``iterable``, iterating the bar yields its items and advances it."""
    from tqdm import tqdm

    if not enabled or total <= THRESHOLD:
        disable = True
    else:
        disable = False if FORCE else None  # None: only when standard error is a terminal
    return tqdm(iterable, total=total, desc=desc, unit=unit, file=sys.stderr, disable=disable, leave=False,
                dynamic_ncols=True)


def write(message: str) -> None:
    """One line on standard error, above any bar being shown."""
    from tqdm import tqdm

    tqdm.write(message, file=sys.stderr)
