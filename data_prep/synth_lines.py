"""Synthetic handwriting-style text lines, written in the exact IAM layout.

Text from an offline source is wrapped into lines and drawn with handwriting-style fonts (Debian
packages, see ``data_prep.fonts``) by synthetic *writers*; the result reads back through
``data_prep.iam`` like the real IAM database::

    OUT/lines/a01/a01-000u/a01-000u-00.png   grey line images, cropped to the ink plus a margin
    OUT/ascii/lines.txt                      IAM header + "id ok graylevel components x y w h w|o|r|d|s"
    OUT/ascii/forms.txt                      IAM header + "form writer sentences all lines lines words words"
    OUT/splits/train.txt valid.txt test.txt  line ids, one per line
    OUT/writers.tsv                          each writer's split, font and style (documentation)

Writers.  A writer is one font face plus a style drawn at random: size (x-height 15-28 px; line
heights of roughly 55-135 px), slant (shear -0.3..0.3), stroke width (0-2 px extra outline, at most
half the font's median counter at that size, so thin script hands do not close up into blots),
letter spacing (drawn character by character with an extra gap; script fonts get almost none, so
their joins hold), word spacing, baseline drift (a slow random walk of the per-character vertical
offset, plus a skew), per-character size jitter, ink and paper tone and a line width (40-60
characters).  Each writer fills 1-4 forms of 4-10 lines of consecutive text, as in IAM; lines hold
3-12 words and at most 70 characters.

Per line degradation: elastic distortion (``recog.features.augment.elastic_distort``'s field,
applied to the ink), Gaussian blur, uneven ink, paper texture and pixel noise.  Writers and
rendering: :mod:`data_prep.line_render`; text: :mod:`data_prep.line_text`.

Splits.  Fonts are split by *family* (one hand; all its faces go together).  By default the test
writers use the families in ``DEFAULT_TEST_FAMILIES``, the validation writers those in
``DEFAULT_VALID_FAMILIES`` and the training writers all others, so validation and test are both
writer- *and* font-independent (as in IAM's writer-independent task).  With explicit font lists
the test fonts must not share a family with the training fonts; the validation fonts default to
the training fonts (new writers, new styles).  Text is split as well: each split draws its lines
from its own share of the passages, so test sentences are never seen in training.

Text.  ``--text auto`` uses the Debian ``fortunes`` files (/usr/share/games/fortunes) and the
example sentences of ``wordnet-base`` (/usr/share/wordnet), whichever are installed.  With
neither, ``--install-fonts`` installs both; otherwise a small built-in public-domain list is used
for runs of at most 300 lines (tests; lines then repeat), and larger runs stop with the apt
command.  ``--text FILE`` reads passages separated by blank lines.  Text is normalised to ASCII
(curly quotes, dashes, accents) and restricted to the IAM character set ``IAM_CHARSET``; a writer
only gets passages its font covers (``data_prep.fonts.coverage``), others are skipped.
Capitals-only fonts are left out unless named; their lines are upper-cased.  ``--google-fonts``
adds Google Fonts' handwriting families (``data_prep.google_fonts``: 145, fetched once from npm
into a cache) to the *training* writers; validation and test hands are unchanged.
Transcriptions are written as drawn (``stop.`` stays one word; IAM would write ``stop|.``), with
``"`` as ``&quot;`` and ``&`` as ``&amp;``.

Deterministic: the same seed, fonts, text source and version give byte-identical ``lines.txt``
and identical images, whatever ``--jobs``.

Usage::

    python -m data_prep.synth_lines --out DIR [--lines 20000] [--seed 0] [--jobs 2] [--install-fonts]
        [--text auto|fortunes|wordnet|builtin|FILE] [--train-fonts A,B --valid-fonts C --test-fonts D]
        [--google-fonts [--font-cache DIR]]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import re
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from . import fonts as F
from . import google_fonts as G
from .common import Reporter
from .line_render import Writer, WriterStyle, count_components, otsu, render_line, sample_style
from .line_text import (BUILTIN_MAX_LINES, FORTUNES_DIR, TEXT_PACKAGES, WORDNET_DIR, TextStream,
                        load_passages)

PROG = "data_prep.synth_lines"
SPLITS = ("train", "valid", "test")
DEFAULT_LINES = 20000
DEFAULT_RATIOS = (0.8, 0.1, 0.1)

#: the characters of the IAM line transcriptions (plus space)
IAM_CHARSET = frozenset(" !\"#&'()*+,-./0123456789:;?"
                        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")

#: held-out hands (families of data_prep.fonts.CATALOGUE): a thin slanted hand, two prints
DEFAULT_TEST_FAMILIES = ("kristi", "delphine", "breip")
DEFAULT_VALID_FAMILIES = ("stevehand", "havana")

LINES_TXT_HEADER = """\
#--- lines.txt ---------------------------------------------------------------#
#
# iam database line information
#
# format: a01-000u-00 ok 154 19 408 746 1663 91 A|MOVE|to|stop|Mr.|Gaitskell|from
#
#     a01-000u-00  -> line id for form a01-000u
#     ok              -> result of word segmentation
#                            ok: line is correctly segmented
#                            er: segmentation of line has one or more errors
#
#     154             -> graylevel to binarize line
#     19              -> number of components for this line
#     408 746 1663 91 -> bounding box around this line in x,y,w,h format
#
#     A|MOVE|to|stop|Mr.|Gaitskell|from -> transcription for this line. word tokens are separated
#                                          by the character |
#
"""

FORMS_TXT_HEADER = """\
#--- forms.txt ---------------------------------------------------------------#
#
# iam database form information
#
# format: a01-000u 000 2 prt 7 5 52 36
#
#     a01-000u  -> form id
#     000       -> writer id
#     2         -> number of sentences
#     prt       -> word segmentation
#                    prt: some lines correctly segmented
#                    all: all lines correctly segmented
#     7         -> number of lines
#     5         -> number of lines correctly segmented
#     52        -> number of words
#     36        -> number of words correctly segmented
#
"""




def _render_job(job) -> tuple[int, int, int, int]:
    path, text, font_path, style, seed = job
    img = render_line(text, font_path, style, seed)
    a = np.asarray(img)
    t = otsu(a)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path, format="PNG")
    return t, count_components(a <= t), img.width, img.height


# --- the corpus --------------------------------------------------------------------------------

@dataclass
class LineSpec:
    id: str
    form: str
    writer: Writer
    text: str
    seed: tuple


def _resolve(specs, what: str) -> list[F.FontFace]:
    """Font specs -> faces: BUILTIN, a font file, a package (fonts-...) or a catalogue family."""
    fam_pkg = {fam: pkg for pkg, fams in F.CATALOGUE.items() for fam in fams}
    out: list[F.FontFace] = []
    for spec in specs:
        if spec == F.BUILTIN:
            out.append(F.builtin_face())
        elif os.path.isfile(spec):
            out.append(F.FontFace(Path(spec).stem, "file", os.path.abspath(spec), F.probe(spec).upper_only))
        elif spec.startswith("fonts-"):
            got = F.faces([spec], include_upper_only=True)
            if not got:
                raise F.FontError(f"{what} fonts: package {spec} has no usable font files")
            out += got
        elif spec in fam_pkg:
            got = [f for f in F.faces([fam_pkg[spec]], include_upper_only=True) if f.family == spec]
            if not got:
                raise F.FontError(f"{what} fonts: family {spec!r} not found; is {fam_pkg[spec]} installed?")
            out += got
        else:
            raise F.FontError(f"{what} fonts: {spec!r} is not a font file, a fonts-* package, "
                              f"'{F.BUILTIN}' or a family of the catalogue ({', '.join(sorted(fam_pkg))})")
    return list(dict.fromkeys(out))


def _packages_of(specs) -> list[str]:
    fam_pkg = {fam: pkg for pkg, fams in F.CATALOGUE.items() for fam in fams}
    out = []
    for s in specs:
        if s.startswith("fonts-") and not os.path.isfile(s):
            out.append(s)
        elif s in fam_pkg:
            out.append(fam_pkg[s])
    return out


def choose_fonts(train=None, valid=None, test=None, install: bool = False,
                 rep: Reporter | None = None) -> dict[str, list[F.FontFace]]:
    """Faces of each split (see the module docstring for the defaults and the rules)."""
    rep = rep or Reporter(PROG)
    if train is None and valid is None and test is None:
        F.ensure_fonts(F.DEFAULT_PACKAGES, install=install)
        all_faces = F.faces(F.DEFAULT_PACKAGES)
        split = {
            "test": [f for f in all_faces if f.family in DEFAULT_TEST_FAMILIES],
            "valid": [f for f in all_faces if f.family in DEFAULT_VALID_FAMILIES],
        }
        split["train"] = [f for f in all_faces if f not in split["test"] and f not in split["valid"]]
    else:
        if not train or not test:
            raise F.FontError("give both training and test fonts (validation defaults to the training fonts)")
        F.ensure_fonts(_packages_of(list(train) + list(valid or []) + list(test)), install=install)
        split = {"train": _resolve(train, "training"), "test": _resolve(test, "test")}
        split["valid"] = _resolve(valid, "validation") if valid else list(split["train"])
    for name in SPLITS:
        if not split[name]:
            raise F.FontError(f"no {name} fonts")
    shared = {f.family for f in split["train"]} & {f.family for f in split["test"]}
    if shared == {F.BUILTIN}:
        rep.warn("shared fonts", "training and test both use Pillow's built-in font: the layout is right, "
                 "but the test writers are not font-independent")
    elif shared:
        raise F.FontError(f"test fonts share families with the training fonts: {', '.join(sorted(shared))}")
    return split


def _form_prefix(w: int) -> str:
    w %= 2600
    return f"{chr(ord('a') + w // 100)}{w % 100:02d}"  # a00, a01, ..., a99, b00, ...


def plan(n_lines: int, seed: int, split_faces: dict[str, list[F.FontFace]], passages: list[str],
         ratios=DEFAULT_RATIOS, charset=IAM_CHARSET, rep: Reporter | None = None) -> list[LineSpec]:
    """Writers, forms and the text of every line (cheap, sequential, deterministic)."""
    rep = rep or Reporter(PROG)
    rng = np.random.default_rng([seed, 0])
    total = sum(ratios)
    counts = [int(round(n_lines * r / total)) for r in ratios]
    counts[0] += n_lines - sum(counts)
    # text: a disjoint share of the passages per split (proportional to the line counts)
    order = rng.permutation(len(passages))
    bounds = np.round(np.cumsum([0] + counts) / max(1, n_lines) * len(passages)).astype(int)
    streams = {}
    for i, name in enumerate(SPLITS):
        share = [passages[j] for j in order[bounds[i]:bounds[i + 1]]] or list(passages)
        streams[name] = TextStream(share, np.random.default_rng([seed, 3, i]), name, rep)

    specs: list[LineSpec] = []
    form_no: dict[str, int] = {}
    w = 0
    charsets: dict[str, frozenset] = {}
    for si, name in enumerate(SPLITS):
        remaining = counts[si]
        by_fam: dict[str, list[F.FontFace]] = {}
        for f in split_faces[name]:
            by_fam.setdefault(f.family, []).append(f)
        fams = sorted(by_fam)
        fam_order = [fams[i] for i in rng.permutation(len(fams))]
        k = 0
        while remaining > 0:
            fam = fam_order[k % len(fam_order)]
            k += 1
            face = by_fam[fam][int(rng.integers(len(by_fam[fam])))]
            writer = Writer(f"{w:03d}", name, face, sample_style(rng, face))
            if face.path not in charsets:
                charsets[face.path] = frozenset(charset) - F.coverage(face.path, charset)
            cs = charsets[face.path]
            prefix = _form_prefix(w + 1)                     # a01 first, as in IAM
            w += 1
            for _ in range(int(rng.integers(1, 5))):
                if remaining <= 0:
                    break
                n = min(int(rng.integers(4, 11)), remaining)
                num = form_no.get(prefix, 0)
                form_no[prefix] = num + 1
                form = f"{prefix}-{num:03d}{['', 'u', 'x', 'a', 'b'][int(rng.integers(5))]}"
                texts = streams[name].lines(n, cs, face.upper_only, writer.style.max_chars, rng)
                for i, t in enumerate(texts):
                    specs.append(LineSpec(f"{form}-{i:02d}", form, writer, t, (seed, 1, len(specs))))
                remaining -= n
    return specs


def encode_words(text: str) -> str:
    """Text -> IAM transcription field (``|`` between words, ``&`` and ``"`` as entities)."""
    return "|".join(w.replace("&", "&amp;").replace('"', "&quot;") for w in text.split(" "))


@dataclass
class SynthResult:
    out: Path
    splits: dict[str, list[str]]       # split -> line ids
    texts: dict[str, str]              # line id -> text
    fonts: dict[str, list[str]]        # split -> font files
    writers: dict[str, Writer]         # writer id -> writer
    writer_of: dict[str, str]          # line id -> writer id


def generate(out, n_lines: int = DEFAULT_LINES, seed: int = 0, jobs: int = 2,
             train_fonts=None, valid_fonts=None, test_fonts=None, text: str = "auto",
             install: bool = False, ratios=DEFAULT_RATIOS, progress: bool = True,
             extra_train_faces: list[F.FontFace] | None = None) -> SynthResult:
    """Write a synthetic corpus in the IAM layout under ``out`` (see the module docstring).

    ``extra_train_faces`` (``data_prep.google_fonts.google_faces()``) join the training writers;
    none may share a family with the validation or test fonts."""
    out = Path(out)
    rep = Reporter(PROG)
    if n_lines < 1:
        raise ValueError("n_lines must be at least 1")
    split_faces = choose_fonts(train_fonts, valid_fonts, test_fonts, install=install, rep=rep)
    if extra_train_faces:
        held = {f.family for name in ("valid", "test") for f in split_faces[name]}
        clash = sorted(held & {f.family for f in extra_train_faces})
        if clash:
            raise F.FontError(f"extra training fonts share families with validation/test: {', '.join(clash)}")
        split_faces["train"] = list(dict.fromkeys(split_faces["train"] + list(extra_train_faces)))
    if text == "auto" and not (Path(FORTUNES_DIR).is_dir() or Path(WORDNET_DIR).is_dir()):
        if install:
            F.ensure_fonts(TEXT_PACKAGES, install=True)
        elif n_lines > BUILTIN_MAX_LINES:
            raise F.FontError(f"no text source for {n_lines} lines: install {' and '.join(TEXT_PACKAGES)} "
                              f"(sudo sh -c '{F.apt_command(TEXT_PACKAGES)}', or pass --install-fonts), "
                              f"or give --text FILE; the built-in text only suits up to {BUILTIN_MAX_LINES} lines")
    source, passages = load_passages(text, install=install, rep=rep)
    if not passages:
        raise ValueError(f"text source {text!r} gave no usable passages")
    for name in SPLITS:
        rep.info(f"{name} fonts: " + ", ".join(sorted({f.name for f in split_faces[name]})))
    rep.info(f"text: {source}, {len(passages)} passages")
    specs = plan(n_lines, seed, split_faces, passages, ratios=ratios, rep=rep)

    jobs_args = [(str(out / "lines" / s.id.split("-")[0] / s.form / f"{s.id}.png"), s.text,
                  s.writer.face.path, s.writer.style, s.seed) for s in specs]
    (out / "ascii").mkdir(parents=True, exist_ok=True)
    from tqdm import tqdm
    bar = dict(total=len(specs), desc="synth lines", unit="line", disable=not progress, mininterval=1.0)
    if jobs > 1:
        with multiprocessing.get_context("spawn").Pool(jobs) as pool:
            stats = list(tqdm(pool.imap(_render_job, jobs_args, chunksize=16), **bar))
    else:
        stats = [_render_job(j) for j in tqdm(jobs_args, **bar)]

    # page geometry: each form's lines stacked on a virtual 2479 x 3542 page
    rows, forms = [], {}
    for s, (grey, comps, w, h) in zip(specs, stats):
        forms.setdefault(s.form, []).append((s, grey, comps, w, h))
    for fi, (form, items) in enumerate(forms.items()):
        prng = np.random.default_rng([seed, 2, fi])
        x0 = int(prng.integers(250, 460))
        y = int(prng.integers(650, 800))
        for s, grey, comps, w, h in items:
            rows.append((s.id, f"{s.id} ok {grey} {comps} {x0 + int(prng.integers(-25, 26))} {y} {w} {h} "
                               f"{encode_words(s.text)}"))
            y += h + int(prng.integers(-10, 60))
    rows.sort()
    (out / "ascii" / "lines.txt").write_text(LINES_TXT_HEADER + "".join(r + "\n" for _, r in rows))

    form_rows = []
    for form, items in forms.items():
        words = sum(len(s.text.split()) for s, *_ in items)
        sentences = max(1, sum(len(re.findall(r"[.!?]+(?:\s|$)", s.text + " ")) for s, *_ in items))
        form_rows.append(f"{form} {items[0][0].writer.id} {sentences} all {len(items)} {len(items)} "
                         f"{words} {words}\n")
    (out / "ascii" / "forms.txt").write_text(FORMS_TXT_HEADER + "".join(sorted(form_rows)))

    split_ids = {name: sorted(s.id for s in specs if s.writer.split == name) for name in SPLITS}
    (out / "splits").mkdir(exist_ok=True)
    for name, ids in split_ids.items():
        (out / "splits" / f"{name}.txt").write_text("".join(i + "\n" for i in ids))

    writers = {s.writer.id: s.writer for s in specs}
    cols = list(WriterStyle.__dataclass_fields__)
    wrows = ["writer\tsplit\tfamily\tpackage\tfont\tupper_only\t" + "\t".join(cols) + "\n"]
    for wid in sorted(writers):
        wr = writers[wid]
        st = asdict(wr.style)
        wrows.append(f"{wid}\t{wr.split}\t{wr.face.family}\t{wr.face.package}\t{wr.face.path}\t"
                     f"{int(wr.face.upper_only)}\t" + "\t".join(str(st[c]) for c in cols) + "\n")
    (out / "writers.tsv").write_text("".join(wrows))

    used = {name: sorted({s.writer.face.path for s in specs if s.writer.split == name}) for name in SPLITS}
    rep.info(f"wrote {out}: " + ", ".join(f"{n} {len(split_ids[n])} lines" for n in SPLITS)
             + f", {len(writers)} writers, {len(forms)} forms")
    return SynthResult(out, split_ids, {s.id: s.text for s in specs}, used, writers,
                       {s.id: s.writer.id for s in specs})


def _fonts_arg(s: str) -> list[str]:
    return [x.strip() for x in s.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True, help="corpus root to write (IAM layout)")
    ap.add_argument("--lines", type=int, default=DEFAULT_LINES, help=f"number of lines (default {DEFAULT_LINES})")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--jobs", type=int, default=2, help="worker processes (the output does not depend on it)")
    ap.add_argument("--install-fonts", action="store_true",
                    help="apt-get install missing font/text packages (root); otherwise they are named")
    ap.add_argument("--text", default="auto", help="auto | fortunes | wordnet | builtin | FILE")
    ap.add_argument("--train-fonts", type=_fonts_arg, metavar="A,B",
                    help="families, fonts-* packages, font files or 'builtin' (default: catalogue split)")
    ap.add_argument("--valid-fonts", type=_fonts_arg, metavar="A,B", help="default: the training fonts")
    ap.add_argument("--test-fonts", type=_fonts_arg, metavar="A,B", help="must not share a family with training")
    ap.add_argument("--ratios", default="0.8,0.1,0.1", help="train,valid,test shares of the lines")
    ap.add_argument("--google-fonts", action="store_true",
                    help="add Google Fonts' handwriting families (fetched from npm, data_prep.google_fonts) "
                         "to the training writers")
    ap.add_argument("--font-cache", type=Path, default=G.DEFAULT_CACHE, help="where --google-fonts keeps them")
    ap.add_argument("--no-progress", action="store_true")
    args = ap.parse_args(argv)
    try:
        ratios = tuple(float(x) for x in args.ratios.split(","))
        if len(ratios) != 3 or min(ratios) < 0 or sum(ratios) <= 0:
            raise ValueError
    except ValueError:
        ap.error(f"--ratios: expected three non-negative numbers, got {args.ratios!r}")
    try:
        extra = G.google_faces(cache=args.font_cache) if args.google_fonts else None
        if args.google_fonts and not extra:
            raise F.FontError("--google-fonts: no family could be fetched (see the warnings)")
        generate(args.out, n_lines=args.lines, seed=args.seed, jobs=args.jobs, train_fonts=args.train_fonts,
                 valid_fonts=args.valid_fonts, test_fonts=args.test_fonts, text=args.text,
                 install=args.install_fonts, ratios=ratios, progress=not args.no_progress,
                 extra_train_faces=extra)
    except (F.FontError, FileNotFoundError, ValueError, RuntimeError) as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
