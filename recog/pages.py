"""Transcribe whole pages: a PAGE XML or ALTO file and its page image in, a copy of the file with
every line's transcription out.

This is how kraken, Calamari and Transkribus users work: the layout (regions, lines, reading
order) comes from their tool, the text from the recogniser, and the result must load back into
their tool.  So each line is cut as ``recog prep pagexml`` cuts training lines (its polygon, or
the band around its baseline where the polygon is missing or thin: ``recog.layout.geometry``),
scaled to at most ``CROP_HEIGHT`` px as the training lines were, transcribed in batches, and
written back into a copy of the file (``recog.layout.files``): PAGE ``TextEquiv/Unicode`` with
``conf`` per line and ``Word`` boxes, ALTO ``String`` with ``WC``.  The input is never written.

Word boxes come from the CTC alignment: output frame f of a line whose normalised image has T_in
columns (``pad`` of them padding on each side) and whose network output has T_out frames covers
input column (f + ½)·T_in/T_out, which maps linearly onto the crop's box on the page:

    x(f) = x0 + (bbox width) · ((f + ½)·T_in/T_out − pad) / (T_in − 2·pad)

A word spans from its first symbol's first frame to its last symbol's last frame; its height is
the line crop's.  The box is approximate where deslanting widened the line.  Confidences are the
mean, over a line's (or word's) symbols, of each symbol's highest posterior; an empty line has
confidence 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image

from .decode.types import Hypothesis
from .features.image import frame_position
from .infer import Transcriber
from .layout.files import (WordBox, find_page_image, load_page_image, output_path, read_layout, set_transcription,
                           write_layout)
from .layout.geometry import crop_region, page_regions
from .tokens import SPACE

CROP_HEIGHT = 128  # lines are cut as the training lines were (recipes/hooker: --max-height 128)
LAYOUT_SUFFIXES = {".xml"}


@dataclass
class PageResult:
    """One page written: input and output files, and per line (id, text, conf, source of its cut)."""
    xml: Path
    out: Path
    lines: list[tuple[str, str, float, str]] = field(default_factory=list)


def find_layouts(inputs: list[str | Path]) -> tuple[list[Path], list[str]]:
    """Layout files given directly or found (recursively, ``*.xml`` other than METS and our own
    ``*.recog.xml`` outputs) in folders, sorted; and errors for inputs that do not exist."""
    files, errors = [], []
    for item in map(Path, inputs):
        if item.is_dir():
            files += [p for p in sorted(item.rglob("*.xml")) if p.is_file() and not p.name.endswith(".recog.xml")
                      and p.name not in ("mets.xml", "METS.xml", "metadata.xml")]
        elif item.is_file():
            files.append(item)
        else:
            errors.append(f"{item}: no such file or folder")
    return files, errors


def _mean(xs: list[float]) -> float:
    return sum(xs) / len(xs) if xs else 0.0


def word_boxes(hyp: Hypothesis, symbols: list[str], t_in: int, t_out: int, pad: int,
               bbox: tuple[int, int, int, int]) -> list[WordBox]:
    """The words of a line's hypothesis with their boxes on the page (see the module docstring)."""
    x0, y0, x1, y1 = bbox

    def x_of(frame: float) -> float:
        return x0 + (x1 - x0) * frame_position(frame, t_in, t_out, pad)

    words, cur = [], []
    for k, tok in enumerate(hyp.tokens + [None]):
        if tok is None or symbols[tok] == SPACE:
            if cur:
                text = "".join(symbols[hyp.tokens[i]] for i in cur)
                words.append(WordBox(text, x_of(hyp.start_frames[cur[0]] - 0.5), y0,
                                     x_of(hyp.end_frames[cur[-1]] + 0.5), y1,
                                     _mean([hyp.confidences[i] for i in cur])))
            cur = []
        else:
            cur.append(k)
    return words


class PageTranscriber:
    """Cuts, transcribes and writes back pages with one loaded ``Transcriber`` (image model)."""

    def __init__(self, tr: Transcriber):
        if tr.modality != "image":
            raise ValueError("--pages needs a handwriting (image) model; this one reads audio")
        self.tr = tr
        self.symbols = tr.recogniser.symbols
        self.pad = tr.cfg.features.image.pad

    def _cut(self, xml: Path):
        """(layout, [(line, region source, crop, bbox)]) of a page; ValueError naming the file."""
        layout = read_layout(xml)
        image = find_page_image(layout)
        if image is None:
            raise ValueError(f"{xml}: page image {layout.image!r} not found next to it or in {xml.parent.parent}")
        page = load_page_image(image)
        cuts = []
        for line, region in zip(layout.lines, page_regions(layout.lines)):
            if region is None:
                continue  # neither polygon nor baseline: left as it is
            try:
                crop, bbox = crop_region(page, region.polygon, max_height=CROP_HEIGHT)
            except ValueError:
                continue  # outside the page
            cuts.append((line, region.source, crop, bbox))
        return layout, cuts

    def page(self, xml: Path, out_dir: Path | None = None, on_error=None) -> PageResult:
        """Transcribe one page and write ``<stem>.recog.xml`` (next to it, or in ``out_dir``)."""
        layout, cuts = self._cut(xml)
        t_in: dict[str, int] = {}

        def features(k: int, crop: Image.Image, name: str) -> torch.Tensor:
            f = self.tr.features(crop, name=name)
            t_in[str(k)] = f.shape[0]
            return f

        items = [(str(k), (lambda k=k, c=crop, n=f"{xml}: TextLine {line.id!r}": features(k, c, n)),
                  f"{xml}: TextLine {line.id!r}") for k, (line, _, crop, _) in enumerate(cuts)]
        results, _ = self.tr.transcribe_items(items, on_error)
        out = output_path(xml, out_dir)
        res = PageResult(xml, out)
        model = self.tr.recogniser.model
        for uid, hyp, _, _ in results:
            line, source, _, bbox = cuts[int(uid)]
            text = self.symbols.decode(hyp.tokens)
            n_in = t_in.get(uid, 0)
            n_out = int(model.output_lengths(torch.tensor([n_in]))[0]) if n_in else 0
            words = word_boxes(hyp, self.symbols.symbols, n_in, n_out, self.pad, bbox) if hyp.tokens else []
            conf = _mean(hyp.confidences)
            set_transcription(layout, line, text, conf, words)
            res.lines.append((line.id, text, conf, source))
        write_layout(layout, out)
        return res

    def pages(self, files: list[Path], out_dir: Path | None = None, on_error=None
              ) -> tuple[list[PageResult], list[str]]:
        """Every page; a page that cannot be read is reported (``on_error``) and skipped."""
        done, errors = [], []
        for xml in files:
            try:
                done.append(self.page(xml, out_dir, on_error))
            except ValueError as e:
                errors.append(str(e))
                if on_error:
                    on_error(str(e))
        return done, errors


def transcribe_page_files(make_transcriber, inputs: list[str], files_from: str | None, out_dir: str | None,
                          out: str | None, on_error=None) -> int:
    """What ``recog transcribe --pages`` does: the layout files among ``inputs`` (and listed in
    ``files_from``) transcribed and written back; one line a page on stderr; with ``out``, every
    line's ``<page stem>_<line id> <text>`` there.  Returns the exit status (1 if a page failed)."""
    import contextlib
    import sys

    from .manifest import read_lines

    items = list(inputs)
    if files_from:
        items += [ln.strip() for ln in read_lines(files_from) if ln.strip() and not ln.startswith("#")]
    files, errors = find_layouts(items)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if not files:
        raise ValueError(f"no PAGE XML or ALTO files in {', '.join(items)}")
    done, bad = PageTranscriber(make_transcriber()).pages(files, Path(out_dir) if out_dir else None, on_error)
    with open(out, "w", encoding="utf-8") if out else contextlib.nullcontext() as f:
        for r in done:
            sources = [src for *_, src in r.lines]
            print(f"{r.out}: {len(r.lines)} lines ({sources.count('baseline')} cut from the baseline)",
                  file=sys.stderr)
            stem = "_".join(r.xml.stem.split())
            for lid, text, _, _ in r.lines if f else []:
                f.write(f"{stem}_{'_'.join(lid.split())} {text}".rstrip() + "\n")
    if errors or bad:
        print(f"{len(errors) + len(bad)} page(s) could not be transcribed (see above)", file=sys.stderr)
    return 1 if errors or bad else 0
