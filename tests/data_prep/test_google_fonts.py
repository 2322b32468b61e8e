"""data_prep.google_fonts: Fontsource packages fetched from a registry (here a file:// one, offline)."""

from __future__ import annotations

import glob
import io
import json
import tarfile
from pathlib import Path

import pytest

from data_prep import fonts as F
from data_prep import google_fonts as G
from data_prep import synth_lines as S
from data_prep.common import Reporter


def _any_font_file() -> str:
    for d in F.FONT_DIRS:
        hits = sorted(glob.glob(f"{d}/**/*.ttf", recursive=True))
        if hits:
            return hits[0]
    pytest.skip("needs one .ttf font file on the machine")


def _tarball(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _publish(reg: Path, fid: str, members: dict[str, bytes], license: str = "OFL-1.1") -> None:
    """Lay out ``fid`` as the npm registry would serve it: metadata JSON pointing at a tarball."""
    d = reg / "@fontsource" / fid
    d.mkdir(parents=True)
    tgz = d / f"{fid}-5.0.0.tgz"
    tgz.write_bytes(_tarball(members))
    (d / "latest").write_text(json.dumps({"name": f"@fontsource/{fid}", "license": license,
                                          "dist": {"tarball": tgz.as_uri()}}))


@pytest.fixture
def registry(tmp_path):
    font = Path(_any_font_file()).read_bytes()
    reg = tmp_path / "registry"
    _publish(reg, "good-hand", {"package/files/good-hand-latin-400-normal.woff": font,
                                "package/files/good-hand-latin-700-normal.woff": b"other weight"})
    _publish(reg, "no-latin", {"package/files/no-latin-cyrillic-400-normal.woff": font})
    _publish(reg, "not-a-font", {"package/files/not-a-font-latin-400-normal.woff": b"garbage"})
    _publish(reg, "closed-hand", {"package/files/closed-hand-latin-400-normal.woff": font}, license="Proprietary")
    return reg, font


def test_fetch_extracts_the_latin_400_face_and_caches_it(registry, tmp_path):
    reg, font = registry
    cache = tmp_path / "cache"
    path = G.fetch_one("good-hand", cache, registry=reg.as_uri())
    assert path == cache / "good-hand.woff" and path.read_bytes() == font
    assert G.license_of(cache, "good-hand") == "OFL-1.1"
    # cached: a second call needs no registry at all
    assert G.fetch_one("good-hand", cache, registry=(tmp_path / "gone").as_uri()) == path


def test_bad_packages_are_reported_and_skipped(registry, tmp_path, capsys):
    reg, _ = registry
    rep = Reporter("test")
    got = G.google_faces(["good-hand", "no-latin", "not-a-font", "missing", "closed-hand"], cache=tmp_path / "c",
                         registry=reg.as_uri(), jobs=2, rep=rep)
    assert [f.family for f in got] == ["good-hand"]
    assert got[0].package == "npm:@fontsource/good-hand" and not got[0].upper_only
    assert rep.counts["google font"] == 4
    err = capsys.readouterr().err
    assert "no-latin: no Latin 400 face" in err and "not-a-font" in err and "missing" in err
    assert "closed-hand: licence 'Proprietary' is not one we train on" in err
    assert not (tmp_path / "c" / "no-latin.woff").exists() and not (tmp_path / "c" / "closed-hand.woff").exists()


def test_a_cached_face_without_a_recorded_licence_is_checked_again(registry, tmp_path):
    reg, font = registry
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "closed-hand.woff").write_bytes(font)          # fetched by an older version, licence unknown
    with pytest.raises(F.FontError, match="Proprietary"):
        G.fetch_one("closed-hand", cache, registry=reg.as_uri())
    (cache / "good-hand.woff").write_bytes(font)
    assert G.fetch_one("good-hand", cache, registry=reg.as_uri()) == cache / "good-hand.woff"
    assert G.license_of(cache, "good-hand") == "OFL-1.1"


def test_held_out_families_are_refused():
    with pytest.raises(F.FontError, match="kristi"):
        G.google_faces(["caveat", "kristi"])


def test_catalogue_is_consistent():
    assert len(set(G.HANDWRITING)) == len(G.HANDWRITING)
    assert not set(G.HANDWRITING) & G.HELD_OUT
    assert G.CONNECTED <= set(G.HANDWRITING)
    # no Google family is named like a Debian catalogue family or a held-out hand of the generator
    debian = {fam for fams in F.CATALOGUE.values() for fam in fams}
    assert not set(G.HANDWRITING) & (debian | set(S.DEFAULT_TEST_FAMILIES) | set(S.DEFAULT_VALID_FAMILIES))


def test_extra_faces_join_only_the_training_writers(registry, tmp_path):
    reg, _ = registry
    extra = G.google_faces(["good-hand"], cache=tmp_path / "c", registry=reg.as_uri())
    res = S.generate(tmp_path / "corpus", n_lines=60, seed=1, jobs=1, train_fonts=[F.BUILTIN],
                     test_fonts=[F.BUILTIN], text="builtin", ratios=(0.8, 0.1, 0.1), progress=False,
                     extra_train_faces=extra)
    fams = {name: {w.face.family for w in res.writers.values() if w.split == name} for name in S.SPLITS}
    assert "good-hand" in fams["train"]
    assert "good-hand" not in fams["valid"] | fams["test"]
    clash = [F.FontFace(F.BUILTIN, "npm:x", extra[0].path)]
    with pytest.raises(F.FontError, match="share families"):
        S.generate(tmp_path / "c2", n_lines=8, train_fonts=[F.BUILTIN], test_fonts=[F.BUILTIN],
                   text="builtin", progress=False, extra_train_faces=clash)
