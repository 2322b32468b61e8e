#!/usr/bin/env python
"""CTC beam-search speed and accuracy: recog against pyctcdecode, ctc-beam-decoder and flashlight.

Every decoder gets the same log-probability matrices:

* ``peaky``: synthetic, T=500 x V=80 (blank, ``<space>``, 78 characters), 50 utterances from a
  fixed seed.  A transcript (Zipf-distributed random words) is laid out on the frames, each symbol
  for 1-3 frames with blanks between them, 65% of the frames blank; each frame's symbol dominates
  by 8-14 logits over unit-normal noise, and a quarter of the label frames have a competing label
  (which sometimes wins), as in real CTC outputs.
* ``flat``: the same transcripts, but the right symbol only 4 logits above the noise (posterior
  about 0.3): every symbol passes the usual pruning thresholds, the worst case for a beam search.
* ``--logits DIR`` (repeatable): real outputs of a model, written by ``benchmarks/dump_logprobs.py``
  (``<id>.npy`` per utterance, ``text`` references, ``tokens.txt`` symbol table).

Decoders (the peers are the ``bench`` extra: ``pip install -e '.[bench]'``):

* ``recog``: :func:`recog.decode.prefix_beam_search_batch` (compiled kernel, threads over
  utterances without an LM, processes with one).
* ``pyctcdecode`` and ``ctc-beam-decoder`` at their defaults (``beam_prune_logp=-10``,
  ``token_min_logp=-5``).
* ``flashlight``: torchaudio's ``ctc_decoder`` (flashlight-text), lexicon-free, at its defaults
  (all tokens per frame, ``beam_threshold=50``), and ``flashlight-tok8`` with
  ``beam_size_token=8``, and ``flashlight-logadd`` with ``log_add=True`` (at its default flashlight
  keeps the better of two hypotheses that reach the same prefix, a Viterbi approximation; with
  ``log_add`` it adds their probabilities, as a CTC prefix beam search does).

Each runs at beams 10, 25 and 100, with ``--jobs`` workers (default: every usable core; the peers
get a process pool each, built and warmed up before the clock starts), and is scored by CER (PER
for phone models) against the references.  LM rows use one LM shared by the decoders that can
take it: a character 4-gram (``char``: recog's ``CharLMScorer`` and flashlight, both scoring every
symbol) and a word bigram (``word``: recog's ``WordLMScorer`` with the LM's words as lexicon,
pyctcdecode and ctc-beam-decoder through KenLM), trained with :func:`recog.decode.kneser_ney.train_kneser_ney` on held-out text (synthetic:
more sentences from the same word distribution; real: ``--lm-text``) and written as ARPA.  The
LM weights (``--alpha``, ``--beta``) are passed to every decoder as it defines them.

Every cell starts cold: recog's LM query caches are cleared before its warm-up (the peers build
their decoders and load their LMs afresh in each cell), and the warm-up (two utterances) is not
timed.  Pruning as each decoder defines it: recog ``prune_logp=-10`` (symbols more than 10 nats
below a frame's best are not extended); pyctcdecode and ctc-beam-decoder ``token_min_logp=-5``
and ``beam_prune_logp=-10``; flashlight ``beam_threshold=50`` and ``beam_size_token`` = every
symbol (``flashlight-tok8``: 8).  Compare rows at matched error rates, not only at equal beams.

A cell that runs past ``--budget`` seconds stops after the current chunk and reports the
utterances done (column ``n``).  ``ratio`` is the decoder's ms/utt over recog's in the same set,
beam and LM setting.

    python benchmarks/decode.py                      # everything (tens of minutes)
    python benchmarks/decode.py --utts 20 --beams 25 --lm none --sets peaky
    python benchmarks/decode.py --logits exp/logits/test --lm-text data/train/text
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing as mp
import os
import platform
import string
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recog.decode import fast_beam, prefix_beam_search_batch
from recog.decode.arpa import write_arpa
from recog.decode.kneser_ney import train_kneser_ney
from recog.decode.lm import BOS, EOS, UNK, CharLMScorer, WordLMScorer
from recog.manifest import read_text
from recog.metrics import distance, tokenize
from recog.tokens import BLANK, SPACE, SymbolTable

DECODERS = ["recog", "pyctcdecode", "ctc-beam-decoder", "flashlight", "flashlight-tok8", "flashlight-logadd"]
LM_SUPPORT = {  # which LM kinds each decoder takes
    "recog": {"none", "char", "word"},
    "pyctcdecode": {"none", "word"},
    "ctc-beam-decoder": {"none", "word"},
    "flashlight": {"none", "char"},
    "flashlight-tok8": {"none", "char"},
    "flashlight-logadd": {"none", "char"},
}


# ------------------------------------------------------------------------------------ data
@dataclass
class DataSet:
    name: str
    logps: list[np.ndarray]  # (T, V) float32 log posteriors
    refs: list[str]  # reference transcripts
    table: SymbolTable
    lm_sentences: list[list[str]] | None = None  # LM training text as symbol strings
    info: dict = field(default_factory=dict)


def _log_softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=-1, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=-1, keepdims=True))


def synthetic_table() -> SymbolTable:
    chars = list(string.ascii_lowercase + string.ascii_uppercase + string.digits) + list("!#$%&()*+,-./:;?")
    return SymbolTable([BLANK, SPACE] + chars, unit="char")  # V = 80


class _WordSource:
    """Random words with Zipf frequencies over a skewed character distribution (so that a
    character n-gram and a word n-gram trained on more of the same text help)."""

    def __init__(self, rng: np.random.Generator, chars: list[str], n_words: int = 400):
        p_char = 1.0 / np.arange(1, len(chars) + 1) ** 0.8
        p_char /= p_char.sum()
        order = rng.permutation(len(chars))
        words = set()
        while len(words) < n_words:
            n = int(rng.integers(1, 9))
            words.add("".join(chars[order[i]] for i in rng.choice(len(chars), size=n, p=p_char)))
        self.words = sorted(words)
        rng.shuffle(self.words)
        p = 1.0 / np.arange(1, n_words + 1)
        self.p = p / p.sum()

    def sentence(self, rng: np.random.Generator, n_symbols: int) -> str:
        out: list[str] = []
        length = 0
        while True:
            w = self.words[int(rng.choice(len(self.words), p=self.p))]
            extra = len(w) + (1 if out else 0)
            if out and length + extra > n_symbols:
                return " ".join(out)
            out.append(w)
            length += extra


def synthetic(kind: str, n_utts: int = 50, T: int = 500, seed: int = 0) -> DataSet:
    """``peaky`` or ``flat`` matrices (see the module docstring) with their transcripts."""
    table = synthetic_table()
    V = len(table)
    rng = np.random.default_rng(seed)  # same transcripts and layouts for both kinds
    src = _WordSource(rng, table.symbols[2:])
    noise_rng = np.random.default_rng(seed + (1 if kind == "peaky" else 2))
    logps, refs = [], []
    for _ in range(n_utts):
        runs_p = np.array([0.5, 0.3, 0.2])
        n_target = int(0.35 * T / 1.7)
        while True:
            text = src.sentence(rng, n_target)
            ids = table.encode(text)
            runs = rng.choice([1, 2, 3], size=len(ids), p=runs_p)
            free = T - int(runs.sum()) - (len(ids) - 1)  # blank frames beyond one between symbols
            if free >= 0:
                break
        gaps = np.ones(len(ids) + 1, dtype=np.int64)
        gaps[0] = gaps[-1] = 0
        gaps += rng.multinomial(free, np.full(len(ids) + 1, 1.0 / (len(ids) + 1)))
        frames = np.zeros(T, dtype=np.int64)  # blank
        pos = 0
        for i, (s, r) in enumerate(zip(ids, runs)):
            pos += int(gaps[i])
            frames[pos : pos + r] = s
            pos += int(r)
        logits = noise_rng.standard_normal((T, V))
        rows = np.arange(T)
        if kind == "peaky":
            logits[rows, frames] += noise_rng.uniform(8.0, 14.0, T)
            lab = np.flatnonzero(frames != 0)
            conf = lab[noise_rng.random(lab.size) < 0.25]
            rivals = noise_rng.integers(1, V, conf.size)
            logits[conf, rivals] = logits[conf, frames[conf]] - noise_rng.uniform(-1.0, 4.0, conf.size)
        elif kind == "flat":
            logits[rows, frames] += 4.0
        else:
            raise ValueError(f"unknown synthetic kind {kind!r}")
        logps.append(_log_softmax(logits).astype(np.float32))
        refs.append(text)
    lm_rng = np.random.default_rng(seed + 100)
    lm_sentences = [table.split(src.sentence(lm_rng, int(lm_rng.integers(20, 120)))) for _ in range(3000)]
    blank_frac = float(np.mean([np.mean(lp.argmax(1) == 0) for lp in logps]))
    return DataSet(kind, logps, refs, table, lm_sentences, {"T": T, "V": V, "argmax_blank": round(blank_frac, 3)})


def load_dir(path: str, lm_text: str | None, limit: int | None) -> DataSet:
    """Real model outputs: ``<id>.npy`` per utterance, ``text`` references, ``tokens.txt``."""
    d = Path(path)
    table = SymbolTable.read(d / "tokens.txt")
    refs = read_text(d / "text")
    ids = sorted(refs)
    if limit:
        ids = ids[:limit]
    logps = [np.load(d / f"{u}.npy").astype(np.float32) for u in ids]
    for u, lp in zip(ids, logps):
        if lp.ndim != 2 or lp.shape[1] != len(table):
            raise SystemExit(f"{d}/{u}.npy: shape {lp.shape}, expected (T, {len(table)})")
    sents = None
    if lm_text:
        texts = list(read_text(lm_text).values()) if _looks_kaldi(lm_text) else _lines(lm_text)
        sents = [table.split(t) for t in texts if t.strip()]
    mean_T = float(np.mean([lp.shape[0] for lp in logps])) if logps else 0.0
    return DataSet(d.name, logps, [refs[u] for u in ids], table, sents, {"T(mean)": round(mean_T), "V": len(table)})


def _lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def _looks_kaldi(path: str) -> bool:
    """A Kaldi text file (``id transcript``) rather than one sentence per line: assumed when every
    first field is unique and contains a digit or an underscore."""
    first = [line.split(maxsplit=1)[0] for line in _lines(path)[:200]]
    return bool(first) and len(set(first)) == len(first) and all(any(ch.isdigit() or ch == "_" for ch in w) for w in first)


# ------------------------------------------------------------------------------------ LMs
@dataclass
class LMs:
    char_lm: object = None
    word_lm: object = None
    char_arpa: str | None = None
    word_arpa: str | None = None
    lexicon: list[str] | None = None


def build_lms(ds: DataSet, tmp: Path, order_char: int, order_word: int) -> LMs:
    if not ds.lm_sentences:
        return LMs()
    out = LMs()
    t0 = time.perf_counter()
    out.char_lm = train_kneser_ney(ds.lm_sentences, order=order_char)
    out.char_arpa = str(tmp / f"{ds.name}.char{order_char}.arpa")
    write_arpa(out.char_lm, out.char_arpa)
    if ds.table.unit == "char" and SPACE in ds.table.index:
        words = [["".join(s) for s in _split_words(sent)] for sent in ds.lm_sentences]
        out.word_lm = train_kneser_ney(words, order=order_word)
        out.lexicon = sorted(w for w in out.word_lm.vocab if w not in (BOS, EOS, UNK))
        out.word_arpa = str(tmp / f"{ds.name}.word{order_word}.arpa")
        write_arpa(out.word_lm, out.word_arpa)
    print(f"# {ds.name}: LMs trained on {len(ds.lm_sentences)} sentences in {time.perf_counter() - t0:.1f} s",
          file=sys.stderr)
    return out


def _split_words(sent: list[str]) -> list[list[str]]:
    words, cur = [], []
    for s in sent:
        if s == SPACE:
            if cur:
                words.append(cur)
            cur = []
        else:
            cur.append(s)
    if cur:
        words.append(cur)
    return words


# ------------------------------------------------------------------------------- adapters
def peer_labels(table: SymbolTable) -> list[str]:
    """pyctcdecode-style labels: "" for blank, " " for the word separator, single characters
    as themselves, anything longer (phones) as a private-use character, so text maps back."""
    out = []
    for i, s in enumerate(table.symbols):
        if i == table.blank:
            out.append("")
        elif s == SPACE:
            out.append(" ")
        elif len(s) == 1:
            out.append(s)
        else:
            out.append(chr(0xE000 + i))
    return out


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (KenLM's loading chatter comes from C++)."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


class Adapter:
    """One decoder configuration, built inside the process that runs it."""

    def __init__(self, name: str, beam: int, lm_kind: str, ds: DataSet, lms: LMs, alpha: float, beta: float):
        with _quiet_stderr():
            self._build(name, beam, lm_kind, ds, lms, alpha, beta)

    def _build(self, name: str, beam: int, lm_kind: str, ds: DataSet, lms: LMs, alpha: float, beta: float) -> None:
        self.name, self.beam, self.lm_kind = name, beam, lm_kind
        self.table = ds.table
        labels = peer_labels(ds.table)
        self.back = {c: i for i, c in enumerate(labels) if c}
        if name in ("pyctcdecode", "ctc-beam-decoder"):
            if name == "pyctcdecode":
                import logging

                logging.getLogger("pyctcdecode").setLevel(logging.ERROR)
                from pyctcdecode import build_ctcdecoder
            else:
                from ctc_beam_decoder import build_ctcdecoder
            if lm_kind == "word":
                self.dec = build_ctcdecoder(labels, kenlm_model_path=lms.word_arpa, alpha=alpha, beta=beta)
            else:
                self.dec = build_ctcdecoder(labels)
        elif name.startswith("flashlight"):
            from torchaudio.models.decoder import ctc_decoder

            sil = SPACE if SPACE in ds.table.index else BLANK
            kw = dict(lexicon=None, tokens=list(ds.table.symbols), beam_size=beam, blank_token=BLANK, sil_token=sil)
            if name == "flashlight-tok8":
                kw["beam_size_token"] = 8
            if name == "flashlight-logadd":  # merge equal prefixes by log-sum, as a prefix beam search does
                kw["log_add"] = True
            if lm_kind == "char":
                kw.update(lm=lms.char_arpa, lm_weight=alpha, word_score=beta)
            self.dec = ctc_decoder(**kw)
            self.sil = ds.table.index.get(SPACE, -1)
        else:
            raise ValueError(name)

    def decode(self, lp: np.ndarray) -> list[int]:
        if self.name.startswith("flashlight"):
            import torch

            hyp = self.dec(torch.from_numpy(np.ascontiguousarray(lp, dtype=np.float32))[None])[0][0]
            return [int(i) for i in hyp.tokens]
        text = self.dec.decode(lp, beam_width=self.beam)
        return [self.back[c] for c in text if c in self.back]


_ADAPTER: Adapter | None = None
_DATA: list[np.ndarray] = []


def _init_worker(args: tuple) -> None:
    global _ADAPTER
    import torch

    torch.set_num_threads(1)
    _ADAPTER = Adapter(*args)


def _decode_index(i: int) -> list[int]:
    return _ADAPTER.decode(_DATA[i])  # type: ignore[union-attr]


def _chunks(n: int, size: int):
    for s in range(0, n, size):
        yield list(range(s, min(n, s + size)))


def run_cell(name: str, beam: int, lm_kind: str, ds: DataSet, lms: LMs, args) -> dict:
    """Time one decoder configuration over the set; returns ms/utt, CER and the count done."""
    global _DATA
    _DATA = ds.logps
    n = len(ds.logps)
    chunk = max(2 * args.jobs, 8)
    hyps: list[list[int]] = []
    for lm in (lms.char_lm, lms.word_lm):  # every cell starts cold: no LM queries cached by an earlier cell
        if lm is not None:
            lm.clear_cache()
    if name == "recog":
        kw: dict = dict(beam=beam, blank=ds.table.blank)
        if lm_kind == "char":
            kw.update(lm=CharLMScorer(lms.char_lm), alpha=args.alpha, beta=args.beta, symbols=ds.table.symbols)
        elif lm_kind == "word":  # the LM's words as lexicon, as pyctcdecode takes the ARPA unigrams
            kw.update(lm=WordLMScorer(lms.word_lm, lexicon=lms.lexicon), alpha=args.alpha, beta=args.beta,
                      symbols=ds.table.symbols)
        prefix_beam_search_batch(ds.logps[: min(2, n)], workers=1, **kw)  # warm-up (LM caches too)
        t0 = time.perf_counter()
        for idx in _chunks(n, max(chunk, 25)):  # with an LM each call forks its own pool
            out = prefix_beam_search_batch([ds.logps[i] for i in idx], workers=args.jobs, **kw)
            hyps += [h[0].tokens for h in out]
            if time.perf_counter() - t0 > args.budget:
                break
        elapsed = time.perf_counter() - t0
    else:
        init = (name, beam, lm_kind, ds, lms, args.alpha, args.beta)
        if args.jobs <= 1:
            _init_worker(init)
            _decode_index(0)  # warm-up
            t0 = time.perf_counter()
            for idx in _chunks(n, chunk):
                hyps += [_decode_index(i) for i in idx]
                if time.perf_counter() - t0 > args.budget:
                    break
            elapsed = time.perf_counter() - t0
        else:
            ctx = mp.get_context("fork")
            with ctx.Pool(args.jobs, initializer=_init_worker, initargs=(init,)) as pool:
                pool.map(_decode_index, list(range(min(n, args.jobs))), chunksize=1)  # built and warm
                t0 = time.perf_counter()
                for idx in _chunks(n, chunk):
                    hyps += pool.map(_decode_index, idx, chunksize=1)
                    if time.perf_counter() - t0 > args.budget:
                        break
                elapsed = time.perf_counter() - t0
    done = len(hyps)
    unit = "char" if ds.table.unit == "char" else "phone"
    errs = total = 0
    for ref, ids in zip(ds.refs[:done], hyps):
        r = tokenize(ref, unit)
        errs += distance(r, tokenize(ds.table.decode(ids), unit))
        total += len(r)
    return {
        "set": ds.name, "decoder": name, "beam": beam, "lm": lm_kind, "n": done,
        "ms_per_utt": 1000.0 * elapsed / max(1, done), "cer": errs / max(1, total),
    }


# --------------------------------------------------------------------------------- report
def print_table(rows: list[dict], unit_name: dict[str, str]) -> None:
    ref_ms = {(r["set"], r["beam"], r["lm"]): r["ms_per_utt"] for r in rows if r["decoder"] == "recog"}
    head = f"{'set':<10} {'lm':<5} {'beam':>4}  {'decoder':<17} {'n':>4} {'ms/utt':>10} {'ratio':>7}  {'error':>12}"
    print(head)
    print("-" * len(head))
    last = None
    for r in rows:
        key = (r["set"], r["lm"], r["beam"])
        if last is not None and key != last:
            print()
        last = key
        base = ref_ms.get((r["set"], r["beam"], r["lm"]))
        ratio = f"{r['ms_per_utt'] / base:7.1f}" if base else "      -"
        err = f"{unit_name[r['set']]} {100 * r['cer']:6.2f}%"
        print(f"{r['set']:<10} {r['lm']:<5} {r['beam']:>4}  {r['decoder']:<17} {r['n']:>4} {r['ms_per_utt']:>10.2f} {ratio}  {err:>12}")


def available_decoders() -> dict[str, str]:
    """Decoder -> version, or the reason it cannot run."""
    out = {"recog": "compiled kernel" if fast_beam.available() else "pure Python (kernel not built)"}
    from importlib import metadata

    for name, dist, mod in (
        ("pyctcdecode", "pyctcdecode", "pyctcdecode"),
        ("ctc-beam-decoder", "ctc-beam-decoder", "ctc_beam_decoder"),
        ("flashlight", "flashlight-text", "torchaudio.models.decoder"),
    ):
        try:
            __import__(mod)
            if name == "flashlight":
                from torchaudio.models.decoder import ctc_decoder  # noqa: F401
            out[name] = metadata.version(dist)
        except Exception as e:  # not installed
            out[name] = f"unavailable ({type(e).__name__}: {e})"
    out["flashlight-tok8"] = out["flashlight-logadd"] = out["flashlight"]
    try:
        import kenlm  # noqa: F401

        out["kenlm"] = metadata.version("kenlm")
    except Exception:
        out["kenlm"] = "unavailable"
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sets", nargs="*", default=["peaky", "flat"], help="synthetic sets (peaky, flat)")
    ap.add_argument("--logits", action="append", default=[], help="folder of real outputs (dump_logprobs.py)")
    ap.add_argument("--lm-text", action="append", default=[],
                    help="LM training text per --logits folder (Kaldi text or one sentence per line)")
    ap.add_argument("--utts", type=int, default=50, help="synthetic utterances per set (and limit for --logits)")
    ap.add_argument("--frames", type=int, default=500, help="synthetic T")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--beams", type=int, nargs="*", default=[10, 25, 100])
    ap.add_argument("--decoders", nargs="*", default=DECODERS, choices=DECODERS)
    ap.add_argument("--lm", nargs="*", default=["none", "char", "word"], choices=["none", "char", "word"])
    ap.add_argument("--alpha", type=float, default=0.5, help="LM weight (every decoder)")
    ap.add_argument("--beta", type=float, default=1.0, help="insertion bonus (every decoder, its own unit)")
    ap.add_argument("--char-order", type=int, default=4)
    ap.add_argument("--word-order", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=fast_beam.usable_cpus(), help="workers per decoder")
    ap.add_argument("--budget", type=float, default=60.0, help="seconds per cell before it stops early")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args(argv)

    avail = available_decoders()
    print(f"# {platform.node()} {platform.processor() or platform.machine()}, {fast_beam.usable_cpus()} usable CPUs, "
          f"load average {os.getloadavg()[0]:.2f}, jobs={args.jobs}, budget={args.budget:.0f}s/cell")
    for k, v in avail.items():
        print(f"# {k}: {v}")
    decoders = [d for d in args.decoders if not avail[d].startswith("unavailable")]
    if "kenlm" in avail and avail["kenlm"] == "unavailable":
        print("# kenlm missing: pyctcdecode runs without an LM only")
        LM_SUPPORT["pyctcdecode"].discard("word")

    sets: list[DataSet] = [synthetic(k, args.utts, args.frames, args.seed) for k in args.sets]
    for i, d in enumerate(args.logits):
        sets.append(load_dir(d, args.lm_text[i] if i < len(args.lm_text) else None, args.utts))
    unit_name = {ds.name: ("CER" if ds.table.unit == "char" else "PER") for ds in sets}
    rows: list[dict] = []
    with tempfile.TemporaryDirectory() as tmpd:
        for ds in sets:
            print(f"# set {ds.name}: {len(ds.logps)} utterances, {ds.info}")
            need_lm = any(k != "none" for k in args.lm)
            lms = build_lms(ds, Path(tmpd), args.char_order, args.word_order) if need_lm else LMs()
            for lm_kind in args.lm:
                if lm_kind == "char" and lms.char_lm is None or lm_kind == "word" and lms.word_lm is None:
                    print(f"# {ds.name}: no {lm_kind} LM (no LM text, or not a character model)")
                    continue
                for beam in args.beams:
                    for name in decoders:
                        if lm_kind not in LM_SUPPORT[name]:
                            continue
                        r = run_cell(name, beam, lm_kind, ds, lms, args)
                        rows.append(r)
                        print(f"# {r['set']} lm={lm_kind} beam={beam} {name}: {r['ms_per_utt']:.2f} ms/utt, "
                              f"{unit_name[ds.name]} {100 * r['cer']:.2f}% ({r['n']} utts)", file=sys.stderr, flush=True)
    print()
    print_table(rows, unit_name)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({"args": vars(args), "decoders": avail, "rows": rows}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
