"""Catalogue of handwriting-style fonts packaged by Debian, and glyph-coverage checks.

A *family* is one hand (one design); a package may ship several families (``fonts-sjfonts``:
SteveHand and Delphine) and a family several faces (``fonts-comic-neue``: regular, italic, bold,
light ...).  The synthetic-line generator keeps training and test writers apart at the *family*
level, so that no face of a test hand is ever seen in training.

Fonts are found with ``dpkg-query -L PACKAGE`` (or, without dpkg, by looking for the catalogued
file names under the usual font folders).  ``ensure_fonts`` installs missing packages with apt
only when asked to; otherwise it raises ``FontError`` naming them and the command that installs
them.

Coverage is checked with Pillow alone (no fontTools): a character is missing from a font when its
rendered mask is empty although the character is visible, or when it is identical to the mask of
the font's ``.notdef`` glyph (what a private-use character such as U+E000 renders as).

Capitals-only fonts (``fonts-bwht``, ``fonts-humor-sans``, ``fonts-tomsontalks``) draw lower-case
letters as capitals (the same glyph, or a capital-sized variant).  ``probe`` marks them
``upper_only``: the x-height of the lower-case letters is at least 0.9 of the capital height (it
is 0.33-0.86 in every mixed-case font of the catalogue), or the lower-case letters are missing or
render exactly like the capitals.  The generator leaves them out by default; when they are asked
for, the lines they write are upper-cased (so that labels match what is drawn).

Usage::

    python -m data_prep.fonts [--install] [PACKAGE ...]     # list faces with their coverage
"""

from __future__ import annotations

import argparse
import glob
import os
import shutil
import statistics
import string
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import ImageFont

#: package -> {family: face file names}.  Only the faces listed are used (``fonts-breip`` ships
#: the same font twice, as Breip.ttf and breipfont.ttf).
CATALOGUE: dict[str, dict[str, tuple[str, ...]]] = {
    "fonts-dkg-handwriting": {"dkg": ("dkg.ttf", "dkgIt.ttf", "dkgBd.ttf", "dkgBI.ttf")},
    "fonts-breip": {"breip": ("Breip.ttf",)},
    "fonts-femkeklaver": {"femkeklaver": ("femkeklaver.ttf",)},
    "fonts-rufscript": {"rufscript": ("Rufscript010.ttf",)},
    "fonts-sjfonts": {"stevehand": ("SteveHand.ttf",), "delphine": ("Delphine.ttf",)},
    "fonts-kristi": {"kristi": ("Kristi.ttf",)},
    "fonts-dancingscript": {"dancingscript": ("DancingScript-Regular.otf", "DancingScript-Bold.otf")},
    "fonts-comic-neue": {"comicneue": ("ComicNeue-Regular.otf", "ComicNeue-Italic.otf", "ComicNeue-Light.otf",
                                       "ComicNeue-LightItalic.otf", "ComicNeue-Bold.otf",
                                       "ComicNeue-BoldItalic.otf")},
    "fonts-ecolier-court": {"ecolier": ("Ecolier-court.ttf",)},
    "fonts-kaushanscript": {"kaushan": ("KaushanScript-Regular.otf",)},
    "fonts-klee": {"klee": ("KleeOne-Regular.ttf", "KleeOne-SemiBold.ttf")},
    "fonts-havana": {"havana": ("Havana-Regular.otf",)},
    "fonts-tlwg-purisa-ttf": {"purisa": ("Purisa.ttf", "Purisa-Oblique.ttf", "Purisa-Bold.ttf",
                                         "Purisa-BoldOblique.ttf")},
    # Korean and Japanese handwriting fonts whose Latin letters are drawn by hand too
    "fonts-nanum-extra": {"nanumpen": ("NanumPen.ttf",), "nanumbrush": ("NanumBrush.ttf",),
                          "nanumbarunpen": ("NanumBarunpenR.ttf", "NanumBarunpenB.ttf")},
    "fonts-kiloji": {"kiloji": ("kiloji.ttf", "kiloji_p.ttf")},
    "fonts-seto": {"seto": ("setofont.ttf",)},
    # URW's Zapf Chancery: a calligraphic italic hand
    "fonts-urw-base35": {"z003": ("Z003-MediumItalic.otf",)},
    # calligraphic, with a long s that reads as f/b: not used by default
    "fonts-joscelyn": {"joscelyn": ("Joscelyn-Regular.otf",)},
    "fonts-leckerli-one": {"leckerli": ("LeckerliOne-Regular.ttf",)},
    "fonts-lobster": {"lobster": ("lobster.otf",)},
    # capitals only: not used unless asked for (lines are then upper-cased)
    "fonts-humor-sans": {"humorsans": ("Humor-Sans.ttf",)},
    "fonts-tomsontalks": {"tomsontalks": ("TomsonTalks.ttf",)},
    "fonts-bwht": {"bwht-build": ("BecauseWeBuild-Regular.otf",),
                   "bwht-connect": ("BecauseWeConnect-Regular.otf",),
                   "bwht-create": ("BecauseWeCreate-Regular.otf",),
                   "bwht-learn": ("BecauseWeLearn-Regular.otf",),
                   "bwht-mentor": ("BecauseWeMentor-Regular.otf",),
                   "bwht-organize": ("BecauseWeOrganize-Regular.otf",)},
}

#: the packages the generator needs by default (all mixed-case, full or near-full ASCII coverage)
DEFAULT_PACKAGES: tuple[str, ...] = (
    "fonts-dkg-handwriting", "fonts-breip", "fonts-femkeklaver", "fonts-rufscript", "fonts-sjfonts",
    "fonts-kristi", "fonts-dancingscript", "fonts-comic-neue", "fonts-ecolier-court",
    "fonts-kaushanscript", "fonts-klee", "fonts-havana", "fonts-leckerli-one", "fonts-lobster",
    "fonts-tlwg-purisa-ttf", "fonts-nanum-extra", "fonts-kiloji", "fonts-seto", "fonts-urw-base35",
)
UPPER_ONLY_PACKAGES: tuple[str, ...] = ("fonts-humor-sans", "fonts-tomsontalks", "fonts-bwht")

#: the name of Pillow's built-in font (``ImageFont.load_default(size=...)``, Aileron Regular): a
#: fallback that always exists, for tests and machines without the packages; it is not a hand.
BUILTIN = "builtin"

FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", os.path.expanduser("~/.local/share/fonts"),
             os.path.expanduser("~/.fonts"))
FONT_EXTS = (".ttf", ".otf", ".ttc")

#: private-use / unassigned code points: no handwriting font draws them, so they show .notdef
_NOTDEF_PROBES = ("\ue000", "\ue001", "\U000f0000", "\U0010fffd")
_PROBE_SIZE = 48


class FontError(RuntimeError):
    """Missing font packages or unusable fonts; the message says how to fix it."""


@dataclass(frozen=True)
class FontFace:
    family: str
    package: str
    path: str              # a font file, or BUILTIN
    upper_only: bool = False

    @property
    def name(self) -> str:
        return BUILTIN if self.path == BUILTIN else Path(self.path).stem


# --- loading -----------------------------------------------------------------------------------

@lru_cache(maxsize=256)
def load_font(path: str, size: int) -> ImageFont.FreeTypeFont:
    """A FreeType font at ``size`` px (basic layout: deterministic and fast); BUILTIN is Pillow's."""
    if path == BUILTIN:
        return ImageFont.load_default(size=size)
    return ImageFont.truetype(path, size=size, layout_engine=ImageFont.Layout.BASIC)


# --- packages ----------------------------------------------------------------------------------

def _dpkg() -> bool:
    return shutil.which("dpkg-query") is not None


def package_installed(package: str) -> bool:
    if _dpkg():
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
        return r.returncode == 0 and r.stdout.strip().endswith(" installed")
    return bool(package_files(package))


def package_files(package: str) -> list[str]:
    """Font files (.ttf/.otf/.ttc) a package installed; without dpkg, the catalogued file names
    found under the usual font folders."""
    files: list[str] = []
    if _dpkg():
        r = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True)
        if r.returncode == 0:
            files = [p for p in r.stdout.splitlines() if p.lower().endswith(FONT_EXTS) and os.path.isfile(p)]
    if not files and package in CATALOGUE:
        names = {n for faces in CATALOGUE[package].values() for n in faces}
        for d in FONT_DIRS:
            files += [p for p in glob.glob(os.path.join(d, "**", "*"), recursive=True)
                      if os.path.basename(p) in names]
    return sorted(set(files))


def apt_command(packages) -> str:
    return "apt-get update && apt-get install -y " + " ".join(packages)


def ensure_fonts(packages, install: bool = False) -> list[str]:
    """Make sure ``packages`` are installed; returns those that had to be installed.

    With ``install`` the missing ones are installed with apt (needs root); otherwise ``FontError``
    names them and the command to run."""
    packages = list(dict.fromkeys(packages))
    missing = [p for p in packages if not package_installed(p)]
    if not missing:
        return []
    if not install:
        raise FontError(
            f"Debian package(s) not installed: {', '.join(missing)}.  Install them with\n"
            f"    sudo sh -c '{apt_command(missing)}'\n"
            f"or pass --install-fonts (runs apt-get as root), or choose installed fonts explicitly.")
    if shutil.which("apt-get") is None:
        raise FontError(f"cannot install {', '.join(missing)}: apt-get not found (not a Debian system)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    prefix = [] if os.geteuid() == 0 else (["sudo"] if shutil.which("sudo") else [])
    for cmd in (["apt-get", "update"], ["apt-get", "install", "-y", *missing]):
        r = subprocess.run(prefix + cmd, env=env)
        if r.returncode != 0:
            raise FontError(f"'{' '.join(prefix + cmd)}' failed (exit {r.returncode})")
    still = [p for p in missing if not package_installed(p)]
    if still:
        raise FontError(f"still not installed after apt-get: {', '.join(still)}")
    return missing


def faces(packages=None, include_upper_only: bool = False) -> list[FontFace]:
    """The installed faces of ``packages`` (default: DEFAULT_PACKAGES), probed for capitals-only.

    Catalogued packages give their catalogued families; any other package gives all its font
    files as one family named after the package."""
    out: list[FontFace] = []
    for pkg in packages if packages is not None else DEFAULT_PACKAGES:
        files = package_files(pkg)
        by_name = {os.path.basename(p): p for p in files}
        fams = CATALOGUE.get(pkg) or {pkg.removeprefix("fonts-"): tuple(sorted(by_name))}
        for fam, names in fams.items():
            for n in names:
                if n in by_name:
                    face = FontFace(fam, pkg, by_name[n], upper_only=probe(by_name[n]).upper_only)
                    if include_upper_only or not face.upper_only:
                        out.append(face)
    return out


def builtin_face() -> FontFace:
    return FontFace(BUILTIN, "pillow", BUILTIN, upper_only=False)


# --- coverage ----------------------------------------------------------------------------------

def _mask_key(font, ch: str):
    m = font.getmask(ch)
    return m.size, bytes(m)


@lru_cache(maxsize=256)
def _notdef_keys(path: str) -> frozenset:
    font = load_font(path, _PROBE_SIZE)
    return frozenset(_mask_key(font, c) for c in _NOTDEF_PROBES if font.getmask(c).getbbox() is not None)


@lru_cache(maxsize=256)
def _deepest_descender(path: str) -> float:
    """How far below the baseline the descenders of g j p q y reach (px at _PROBE_SIZE)."""
    font = load_font(path, _PROBE_SIZE)
    notdef = _notdef_keys(path)
    feet = [font.getbbox(c, anchor="ls")[3] for c in "gjpqy"
            if font.getmask(c).getbbox() is not None and _mask_key(font, c) not in notdef]
    return max(feet) if feet else 0.3 * _PROBE_SIZE


def coverage(font_path: str, chars) -> set[str]:
    """The characters of ``chars`` that the font cannot draw (empty set: all covered).

    Whitespace counts as covered.  A visible character is missing when it renders no ink,
    renders exactly like the font's .notdef glyph, or is broken: its ink reaches more than a
    quarter em below the deepest of the descenders g j p q y (Ecolier's W carries a stray bar
    there)."""
    path = str(font_path)
    font = load_font(path, _PROBE_SIZE)
    notdef = _notdef_keys(path)
    floor = _deepest_descender(path) + 0.25 * _PROBE_SIZE
    missing = set()
    for ch in set(chars):
        if ch.isspace():
            continue
        if (font.getmask(ch).getbbox() is None or _mask_key(font, ch) in notdef
                or font.getbbox(ch, anchor="ls")[3] > floor):
            missing.add(ch)
    return missing


@dataclass(frozen=True)
class Probe:
    missing: frozenset           # printable ASCII characters the font lacks
    upper_only: bool
    x_ratio: float               # median height of x-height letters / of their capitals
    xheight: float               # height of 'x' in px per px of font size
    body: float                  # height of "Hdfgjklpqy" (ascender top to descender foot) per px
    counter: float = 0.1         # median white gap inside and between the letters of "minimum aeon"
                                 # (x-height band), per px of font size


@lru_cache(maxsize=256)
def probe(font_path: str) -> Probe:
    """Coverage of printable ASCII and capitals-only detection (see the module docstring)."""
    path = str(font_path)
    missing = frozenset(coverage(path, string.printable[:94]))
    font = load_font(path, 100)

    def height(c):
        b = font.getbbox(c)
        return max(0, b[3] - b[1])

    lows = "acemnorsuvwxz"
    ratios = [height(c) / max(1, height(c.upper())) for c in lows if c not in missing]
    x_ratio = statistics.median(ratios) if ratios else 1.0
    same = sum(_mask_key(font, c) == _mask_key(font, c.upper()) for c in string.ascii_lowercase)
    lower_missing = sum(c in missing for c in string.ascii_lowercase)
    upper_only = x_ratio >= 0.9 or same >= 13 or lower_missing >= 13
    xh = height("x") / 100 if "x" not in missing else 0.5
    body = height("".join(c for c in "Hdfgjklpqy" if c not in missing) or "H") / 100
    return Probe(missing, upper_only, round(x_ratio, 3), xh, body, _counter(font, xh * 100))


def _counter(font, xheight_px: float) -> float:
    """Median width of the white runs between two ink pixels on the rows of "minimum aeon" drawn
    at size 100 (counters of n, m, a, e, o and the gaps between letters; word spaces, wider than
    half the x-height, left out), per px of size.  An outline of s px on each side closes every
    gap narrower than 2 s: script fonts with small counters (Kristi) become unreadable blots."""
    mask = font.getmask("minimum aeon")
    ink = np.asarray(mask, dtype=np.uint8).reshape(mask.size[::-1]) > 127
    gaps = []
    for row in ink:
        idx = np.flatnonzero(row)
        if len(idx) > 1:
            d = np.diff(idx) - 1
            gaps += d[(d > 0) & (d < 0.5 * xheight_px)].tolist()
    return round(float(np.median(gaps)) / 100, 3) if gaps else 0.1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m data_prep.fonts", description=__doc__.split("\n\n")[0])
    ap.add_argument("packages", nargs="*", help="Debian packages (default: the whole catalogue)")
    ap.add_argument("--install", action="store_true", help="apt-get install the missing packages")
    args = ap.parse_args(argv)
    pkgs = args.packages or list(CATALOGUE)
    if args.install:
        try:
            ensure_fonts(pkgs, install=True)
        except FontError as e:
            print(f"data_prep.fonts: error: {e}", file=sys.stderr)
            return 2
    for pkg in pkgs:
        if not package_installed(pkg):
            print(f"{pkg:24s} (not installed)")
            continue
        for f in faces([pkg], include_upper_only=True):
            p = probe(f.path)
            miss = "".join(sorted(p.missing)) or "-"
            print(f"{pkg:24s} {f.family:14s} {f.name:28s} missing {miss:10s} x/X {p.x_ratio:.2f}"
                  f"{'  CAPITALS ONLY' if p.upper_only else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
