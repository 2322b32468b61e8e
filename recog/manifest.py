"""Utterance records and their JSON-lines manifests, plus Kaldi-style ``text`` files.

A manifest line is one JSON object::

    {"id": "a01-000u-00", "path": "/data/lines/a01-000u-00.png", "text": "A MOVE to stop",
     "speaker": "a01-000u", "feats": "feats/train/a01-000u-00.npy", "num_frames": 412}

``id`` and ``path`` are required; ``text`` is required for training and scoring; ``speaker``,
``feats`` (a cached feature matrix) and ``num_frames`` are optional.  Paths are stored as given;
relative paths are resolved against the manifest's own directory when read.

Models with other outputs than CTC (``model.output``) train on targets beside the transcript,
so one manifest can serve several tasks::

    "label": "dog"                      one class per sequence (label models)
    "frame_labels": "sil sil d d o o"   one class per feature frame, whitespace-separated (frame models)
    "target": [0.5, -1.2]               real values per sequence (regression, a number or a list)
    "frame_targets": "t/a.npy"          per-frame real values, a (frames,) or (frames, D) .npy file

Class names hold no whitespace.  These keys are kept in ``extra`` like any other (so every stage
that copies a record carries them) and are read through ``Utterance.label`` and its siblings.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable


class ManifestError(ValueError):
    """A manifest or text file that cannot be used, with the file and line in the message."""


@dataclass
class Utterance:
    id: str
    path: str
    text: str | None = None
    speaker: str | None = None
    feats: str | None = None
    num_frames: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def label(self) -> str | None:
        return self.extra.get("label")

    @property
    def frame_labels(self) -> list[str] | None:
        v = self.extra.get("frame_labels")
        return None if v is None else v.split()

    @property
    def target(self) -> list[float] | None:
        v = self.extra.get("target")
        return None if v is None else [float(x) for x in (v if isinstance(v, list) else [v])]

    @property
    def frame_targets(self) -> str | None:
        return self.extra.get("frame_targets")

    def to_json(self) -> str:
        d = {k: v for k, v in asdict(self).items() if v is not None and k != "extra"}
        d.update(self.extra)
        return json.dumps(d, ensure_ascii=False)


_FIELDS = {"id", "path", "text", "speaker", "feats", "num_frames"}


def read_lines(path: str | os.PathLike, encoding: str = "utf-8-sig") -> list[str]:
    """A text file's lines (without line ends).  ManifestError naming the file and the offending
    byte when it is not text in ``encoding``; the reader's own errors name file and line after."""
    data = Path(path).read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise ManifestError(f"{path}: not {encoding.replace('-sig', '')} text (byte {data[e.start]:#04x} at "
                            f"offset {e.start}, line {line})") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _resolve(base: Path, p: str | None) -> str | None:
    if p is None or os.path.isabs(p):
        return p
    return str((base / p).resolve())


def _bad_fields(d: dict) -> str:
    """What is wrong with a record's field types ("" when nothing)."""
    if not isinstance(d["id"], (str, int)) or isinstance(d["id"], bool) or not str(d["id"]).strip():
        return f"'id' must be a non-empty string, got {d['id']!r}"
    for k in ("path", "text", "speaker", "feats"):
        if k in d and d[k] is not None and not isinstance(d[k], str):
            return f"{k!r} must be a string, got {d[k]!r}"
    n = d.get("num_frames")
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 0):
        return f"'num_frames' must be a whole number >= 0, got {n!r}"
    return _bad_targets(d)


def _number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _bad_targets(d: dict) -> str:
    """What is wrong with a record's targets for label, frame and regression models ("" when nothing)."""
    label = d.get("label")
    if label is not None and (not isinstance(label, str) or len(label.split()) != 1 or label != label.strip()):
        return f"'label' must be one class name without whitespace, got {label!r}"
    for k in ("frame_labels", "frame_targets"):
        if d.get(k) is not None and not isinstance(d[k], str):
            return f"{k!r} must be a string, got {d[k]!r}"
    t = d.get("target")
    if t is not None and not (_number(t) or (isinstance(t, list) and t and all(_number(v) for v in t))):
        return f"'target' must be a finite number or a non-empty list of them, got {t!r}"
    return ""


def read_manifest(path: str | os.PathLike, check_files: bool = False) -> list[Utterance]:
    """Read a JSONL manifest. Raises ManifestError naming the file and line on bad input."""
    path = Path(path)
    if path.is_dir():
        path = path / "manifest.jsonl"
    if not path.exists():
        raise ManifestError(f"{path}: manifest not found")
    base = path.parent
    utts: list[Utterance] = []
    seen: set[str] = set()
    for lineno, line in enumerate(read_lines(path), 1):
        line = line.strip()
        if not line:
            continue
        try:
            d = json.loads(line)
        except json.JSONDecodeError as e:
            raise ManifestError(f"{path}:{lineno}: not valid JSON ({e.msg})") from None
        if not isinstance(d, dict) or "id" not in d or "path" not in d:
            raise ManifestError(f"{path}:{lineno}: a record needs 'id' and 'path'")
        bad = _bad_fields(d)
        if bad:
            raise ManifestError(f"{path}:{lineno}: {bad}")
        if d["id"] in seen:
            raise ManifestError(f"{path}:{lineno}: duplicate id {d['id']!r}")
        seen.add(d["id"])
        u = Utterance(
            id=str(d["id"]),
            path=_resolve(base, d["path"]),
            text=d.get("text"),
            speaker=d.get("speaker"),
            feats=_resolve(base, d.get("feats")),
            num_frames=d.get("num_frames"),
            extra={k: v for k, v in d.items() if k not in _FIELDS},
        )
        if u.frame_targets:
            u.extra["frame_targets"] = _resolve(base, u.frame_targets)
        if check_files and not os.path.exists(u.path):
            raise ManifestError(f"{path}:{lineno}: file {u.path} does not exist")
        utts.append(u)
    return utts


def write_manifest(path: str | os.PathLike, utts: Iterable[Utterance]) -> None:
    """Write a manifest atomically (temporary file, then rename)."""
    path = Path(path)
    if path.suffix != ".jsonl":
        path = path / "manifest.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".jsonl.tmp")
    ids: set[str] = set()
    with open(tmp, "w", encoding="utf-8") as f:
        for u in utts:
            if u.id in ids:
                raise ManifestError(f"{path}: duplicate id {u.id!r}")
            ids.add(u.id)
            f.write(u.to_json() + "\n")
    os.replace(tmp, path)


def read_text(path: str | os.PathLike) -> dict[str, str]:
    """Read a Kaldi ``text`` file: ``<id> <transcript>`` per line (transcript may be empty)."""
    out: dict[str, str] = {}
    for lineno, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        uid = parts[0]
        if uid in out:
            raise ManifestError(f"{path}:{lineno}: duplicate id {uid!r}")
        out[uid] = parts[1].strip() if len(parts) > 1 else ""
    return out


def write_text(path: str | os.PathLike, items: Iterable[tuple[str, str]]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        for uid, txt in items:
            f.write(f"{uid} {txt}\n" if txt else f"{uid}\n")
    os.replace(tmp, path)
