"""More training hands: Google Fonts' handwriting families, fetched from npm (Fontsource).

The Debian packages of ``data_prep.fonts`` give the generator 22 hands by default: 17 train, 2
validate, 3 test. Going from 10 to 17 training hands took the held-out-font validation CER from 20.5
to 16.1 (``recipes/iam/RESULTS.md``): the model generalises across hands only as far as it has seen
many. Google Fonts' "handwriting" category holds well over a hundred more (OFL-licensed), and
Fontsource publishes each one on npm as ``@fontsource/<id>`` with a
``files/<id>-latin-400-normal.woff`` that Pillow's FreeType reads directly. This module downloads
those files (no npm needed: the registry's JSON gives the tarball) into a cache folder and turns
them into ``data_prep.fonts.FontFace`` objects for the generator's *training* writers only
(``synth_lines --google-fonts``); validation and test hands stay the Debian ones, and no family here
is one of them (``HELD_OUT`` is checked).

A family that cannot be fetched or has no Latin 400 file is reported and skipped; capitals-only
families are dropped by ``data_prep.fonts.probe`` like the Debian ones.  Each package's licence (the
registry's ``license`` field) is checked against ``LICENSES``, the ones that allow training on and
shipping a model made from the rendered text, and kept beside the face (``<id>.license``): of the
145 families listed, 131 are OFL-1.1, 13 Apache-2.0 and one MIT (checked 2026-12-06).  With these 145 hands
added, the held-out-font test CER fell from 22.69 to 10.56 greedy (``pretrained/synth_iam``).

Usage::

    python -m data_prep.google_fonts [--cache DIR] [ID ...]     # fetch and list coverage
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tarfile
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from . import fonts as F
from .common import Reporter

PROG = "data_prep.google_fonts"
REGISTRY = "https://registry.npmjs.org"
DEFAULT_CACHE = Path(os.environ.get("RECOG_FONT_CACHE", Path.home() / ".cache" / "recog" / "fonts"))

#: Fontsource ids of Google Fonts handwriting families with Latin letters (print, school and
#: script hands).  Left out: families the Debian catalogue already has (Kristi, Dancing Script,
#: Kaushan Script, Klee One, Comic Neue, Leckerli One, Lobster, Nanum Pen/Brush) and capitals-only
#: ones (probe() would drop them anyway).
HANDWRITING: tuple[str, ...] = (
    "alex-brush", "allura", "annie-use-your-telescope", "architects-daughter", "arizonia",
    "bad-script", "birthstone", "birthstone-bounce", "bonheur-royale", "calligraffitti",
    "carattere", "caveat", "caveat-brush", "cedarville-cursive", "charm", "charmonman",
    "coming-soon", "comforter", "comforter-brush", "cookie", "corinthia", "courgette",
    "covered-by-your-grace", "crafty-girls", "damion", "dawning-of-a-new-day", "dekko", "delius",
    "dr-sugiyama", "east-sea-dokdo", "edu-nsw-act-foundation", "edu-qld-beginner",
    "edu-sa-beginner", "edu-tas-beginner", "edu-vic-wa-nt-beginner", "ephesis", "estonia",
    "euphoria-script", "fleur-de-leah", "gaegu", "gamja-flower", "give-you-glory",
    "gloria-hallelujah", "gochi-hand", "grand-hotel", "great-vibes", "gwendolyn", "handlee",
    "herr-von-muellerhoff", "hi-melody", "homemade-apple", "hurricane", "indie-flower",
    "ingrid-darling", "island-moments", "italianno", "itim", "just-another-hand",
    "just-me-again-down-here", "kalam", "kavivanar", "kolker-brush", "la-belle-aurore",
    "licorice", "lobster-two", "love-light", "love-ya-like-a-sister", "loved-by-the-king",
    "mali", "marck-script", "mea-culpa", "meddon", "miss-fajardose", "moon-dance",
    "mr-dafoe", "mr-de-haviland", "mrs-saint-delafield", "ms-madi", "my-soul", "mynerve",
    "nerko-one", "neucha", "niconne", "norican", "nothing-you-could-do", "oooh-baby",
    "over-the-rainbow", "pacifico", "parisienne", "patrick-hand", "petit-formal-script",
    "pinyon-script", "playpen-sans", "playwrite-br", "playwrite-ca", "playwrite-cu",
    "playwrite-de-grund", "playwrite-dk-loopet", "playwrite-es", "playwrite-fr-moderne",
    "playwrite-hr", "playwrite-ie", "playwrite-it-moderna", "playwrite-mx", "playwrite-ng-modern",
    "playwrite-no", "playwrite-nz", "playwrite-pe", "playwrite-us-modern", "playwrite-us-trad",
    "playwrite-za", "qwigley", "rancho", "redressed", "reenie-beanie", "rock-salt",
    "rouge-script", "ruthie", "sacramento", "satisfy", "schoolbell", "sedgwick-ave",
    "send-flowers", "shadows-into-light", "shadows-into-light-two", "shantell-sans",
    "short-stack", "sriracha", "style-script", "sue-ellen-francisco", "sunshiney",
    "swanky-and-moo-moo", "tangerine", "the-girl-next-door", "the-nautigal", "updock",
    "vujahday-script", "waiting-for-the-sunrise", "walter-turncoat", "waterfall", "whisper",
    "yellowtail", "yomogi", "zen-kurenaido", "zeyada",
)

#: joined-up script families (letter spacing stays near zero so that their joins hold)
CONNECTED: frozenset[str] = frozenset({
    "alex-brush", "allura", "arizonia", "birthstone", "birthstone-bounce", "bonheur-royale",
    "carattere", "cedarville-cursive", "comforter", "comforter-brush", "cookie", "corinthia",
    "courgette", "damion", "dr-sugiyama", "ephesis", "euphoria-script", "fleur-de-leah",
    "grand-hotel", "great-vibes", "gwendolyn", "herr-von-muellerhoff", "homemade-apple",
    "hurricane", "ingrid-darling", "island-moments", "italianno", "kolker-brush", "la-belle-aurore",
    "licorice", "lobster-two", "love-light", "marck-script", "mea-culpa", "meddon",
    "miss-fajardose", "moon-dance", "mr-dafoe", "mr-de-haviland", "mrs-saint-delafield",
    "ms-madi", "my-soul", "niconne", "norican", "oooh-baby", "pacifico", "parisienne",
    "petit-formal-script", "pinyon-script", "playwrite-br", "playwrite-ca", "playwrite-cu",
    "playwrite-dk-loopet", "playwrite-es", "playwrite-fr-moderne", "playwrite-hr", "playwrite-ie",
    "playwrite-it-moderna", "playwrite-mx", "playwrite-ng-modern", "playwrite-no", "playwrite-nz",
    "playwrite-pe", "playwrite-us-modern", "playwrite-us-trad", "playwrite-za", "qwigley",
    "redressed", "rouge-script", "ruthie", "sacramento", "satisfy", "style-script",
    "the-nautigal", "updock", "vujahday-script", "waterfall", "whisper", "yellowtail",
})

#: Debian families (validation and test hands among them) that must never come back from here
HELD_OUT = frozenset({"kristi", "delphine", "breip", "stevehand", "havana", "dancing-script",
                      "kaushan-script", "klee-one", "comic-neue", "leckerli-one", "lobster"})


#: licences under which a rendered face may train a model that is then shipped
LICENSES = frozenset({"OFL-1.1", "Apache-2.0", "MIT", "UFL-1.0", "CC0-1.0"})


def face_file(cache: Path, fid: str) -> Path:
    return Path(cache) / f"{fid}.woff"


def _get(url: str, timeout: float) -> bytes:
    req = urllib.request.Request(url, headers={"User-Agent": "recog-data-prep"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.read()


def extract_latin_400(tarball: bytes, fid: str) -> bytes:
    """The ``files/<id>-latin-400-normal.woff`` of a Fontsource package tarball (FontError if absent)."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as tf:
        try:
            member = tf.getmember(f"package/files/{fid}-latin-400-normal.woff")
        except KeyError:
            raise F.FontError("no Latin 400 face in the package") from None
        return tf.extractfile(member).read()


def license_of(cache: Path, fid: str) -> str | None:
    """The licence recorded when ``fid`` was fetched (None: not recorded)."""
    p = face_file(cache, fid).with_suffix(".license")
    return p.read_text().strip() if p.is_file() else None


def fetch_one(fid: str, cache: Path, registry: str = REGISTRY, timeout: float = 60.0) -> Path:
    """Download one family's Latin 400 face into ``cache`` (kept there: later calls are free) after
    checking its licence (FontError if it is not in ``LICENSES``), recorded in ``<id>.license``."""
    path = face_file(cache, fid)
    lic = license_of(cache, fid)
    if path.is_file() and lic in LICENSES:
        return path
    meta = json.loads(_get(f"{registry}/@fontsource/{fid}/latest", timeout))
    lic = str(meta.get("license") or "none given")
    if lic not in LICENSES:
        raise F.FontError(f"licence {lic!r} is not one we train on ({', '.join(sorted(LICENSES))})")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file():
        data = extract_latin_400(_get(meta["dist"]["tarball"], timeout), fid)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    path.with_suffix(".license").write_text(lic + "\n")
    return path


def google_faces(ids=HANDWRITING, cache: Path = DEFAULT_CACHE, registry: str = REGISTRY, jobs: int = 8,
                 rep: Reporter | None = None) -> list[F.FontFace]:
    """Fetch ``ids`` (cached), probe them, and return the usable mixed-case faces, one family each.

    A family that fails to download, lacks a Latin 400 file or does not load is reported and
    skipped; capitals-only ones are dropped."""
    rep = rep or Reporter(PROG)
    bad = sorted(set(ids) & HELD_OUT)
    if bad:
        raise F.FontError(f"{', '.join(bad)}: held-out or Debian families cannot be fetched as extra hands")

    def one(fid):
        try:
            return fid, fetch_one(fid, Path(cache), registry), None
        except F.FontError as e:
            return fid, None, str(e)
        except Exception as e:          # network, HTTP, JSON, tar: report and go on
            return fid, None, f"{type(e).__name__}: {e}"

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        got = list(pool.map(one, ids))
    out = []
    for fid, path, err in got:
        if err:
            rep.warn("google font", f"@fontsource/{fid}: {err}; skipped")
            continue
        try:
            p = F.probe(str(path))
        except OSError as e:
            rep.warn("google font", f"{path}: cannot be read as a font ({e}); skipped")
            continue
        if p.upper_only:
            rep.warn("google font", f"@fontsource/{fid}: capitals only; skipped")
            continue
        out.append(F.FontFace(fid, f"npm:@fontsource/{fid}", str(path)))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog=f"python -m {PROG}", description=__doc__.split("\n\n")[0])
    ap.add_argument("ids", nargs="*", help="Fontsource ids (default: the HANDWRITING list)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"default {DEFAULT_CACHE}")
    args = ap.parse_args(argv)
    try:
        faces = google_faces(args.ids or HANDWRITING, args.cache)
    except F.FontError as e:
        print(f"{PROG}: error: {e}", file=sys.stderr)
        return 2
    for f in faces:
        miss = "".join(sorted(F.probe(f.path).missing)) or "-"
        print(f"{f.family:28s} {license_of(args.cache, f.family) or '?':12s} missing: {miss}")
    print(f"{len(faces)} usable families in {args.cache}", file=sys.stderr)
    return 0 if faces else 1


if __name__ == "__main__":
    sys.exit(main())
