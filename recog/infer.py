"""Inference: load a packaged model, compute its own features, decode, keep going past bad files.

Batches are padded as the model's ``data`` settings say (side and value; ``shortest`` applies
to training only).  Models with other outputs than CTC give ``recog.outputs.Prediction``s (class
names or values) where CTC models give decoded hypotheses.

Engines: ``torch`` (a packaged model, run at ``precision`` fp32, bf16 or auto: see
:mod:`recog.precision`) or ``onnx`` (an exported model run by ONNX Runtime, at the precision it
was exported with: :mod:`recog.onnx_engine`).  Either way decoders read float32 log-probs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import torch

from .checkpoint import load_model
from .data import Example, batcher
from .decode import greedy_batch, prefix_beam_search
from .decode.types import Hypothesis
from .features import FeatureError, NoContent, extract, modality_of
from .features.cache import check_settings, load_cached
from .features.cmvn import SpeakerCMVN
from .features.cmvn import apply as apply_cmvn
from .manifest import Utterance, read_manifest
from .outputs import predictions
from .precision import autocast, resolve_precision
from .progress import bar

# id, best hypothesis, seconds per output frame (0 for images), n-best list (best first)
Result = tuple[str, Hypothesis, float, list[Hypothesis]]


def collect_inputs(inputs: list[str], files_from: str | None, modality: str) -> tuple[list[Path], list[str]]:
    """Expand files and folders (recursively, files of the model's modality, sorted) into paths;
    return (paths, errors) where errors name inputs that do not exist or are of another kind."""
    paths: list[Path] = []
    errors: list[str] = []
    items = list(inputs)
    if files_from:
        with open(files_from, encoding="utf-8") as f:
            items += [line.strip() for line in f if line.strip() and not line.startswith("#")]
    for item in items:
        p = Path(item)
        if p.is_dir():
            for root, _, files in os.walk(p):
                for name in sorted(files):
                    q = Path(root) / name
                    if modality_of(q) == modality:
                        paths.append(q)
        elif p.exists():
            m = modality_of(p)
            if m is None:
                errors.append(f"{p}: unsupported file type {p.suffix!r}")
            elif m != modality:
                errors.append(f"{p}: {'an' if m[0] in 'aeiou' else 'a'} {m} file, but the model reads {modality}")
            else:
                paths.append(p)
        else:
            errors.append(f"{p}: no such file or folder")
    return sorted(set(paths), key=lambda q: str(q)), errors


def input_ids(paths: list[Path], inputs: list[str], relative: bool = False) -> list[str]:
    """Utterance ids of input files: the file stem, or with ``relative`` the path below the input
    folder it was found in, without its suffix.  Whitespace becomes ``_`` (Kaldi ``text`` files
    split on it).  Two inputs with one id are an error naming both."""
    roots = [Path(i) for i in inputs if Path(i).is_dir()]
    ids, seen = [], {}
    for p in paths:
        uid = p.stem
        if relative:
            root = next((r for r in roots if r in p.parents), None)
            uid = str(p.relative_to(root).with_suffix("")) if root else p.stem
        uid = "_".join(uid.split())
        if uid in seen:
            raise ValueError(f"{seen[uid]} and {p} would both have the id {uid!r}"
                             + ("" if relative else "; rename one, or use --relative-ids"))
        seen[uid] = p
        ids.append(uid)
    return ids


def make_scorer(lm_path: str | Path, lm_unit: str, symbols, lexicon: str | Path | None = None):
    """An LM scorer for the beam search: ``lm_unit`` "token" scores every emitted symbol (character
    n-grams with ``<space>``, phone n-grams); "word" scores words completed by ``<space>``."""
    from .decode.arpa import read_arpa
    from .decode.lm import CharLMScorer, WordLMScorer

    lm = read_arpa(lm_path)
    if lm_unit == "word":
        if symbols.unit != "char":
            raise ValueError("a word LM needs a character model (with the <space> separator)")
        words = None
        if lexicon:
            with open(lexicon, encoding="utf-8") as f:
                words = {line.split()[0] for line in f if line.strip()}
        return WordLMScorer(lm, words)
    if lexicon:
        raise ValueError("--lexicon applies to word LMs (--lm-unit word)")
    foreign = sorted(lm.vocab - set(symbols.symbols) - {"<s>", "</s>", "<unk>"})
    if foreign:
        shown = " ".join(foreign[:20]) + (f" ... ({len(foreign)} in all)" if len(foreign) > 20 else "")
        raise ValueError(f"{lm_path}: the LM is over other symbols than the model's; not in the model: {shown}")
    return CharLMScorer(lm)


class Transcriber:
    def __init__(self, model_path: str | Path, beam: int = 0, batch_size: int = 16, device: str = "cpu",
                 lm: str | Path | None = None, lm_unit: str = "token", lexicon: str | Path | None = None,
                 alpha: float = 0.5, beta: float = 0.0, nbest: int = 1, precision: str = "fp32",
                 engine: str = "torch", progress: bool = False):
        self.engine = engine
        if engine == "onnx":
            from .onnx_engine import load_onnx

            if precision == "bf16":
                raise ValueError("--precision bf16 is for the torch engine; an ONNX model runs at the precision "
                                 "it was exported with (fp32, or int8 with recog export --int8)")
            self.recogniser = load_onnx(model_path, device)
        elif engine == "torch":
            self.recogniser = load_model(model_path)  # network, symbols, feature settings, CMVN
        else:
            raise ValueError(f"engine {engine!r}: use torch or onnx")
        self.progress = progress  # a bar on stderr for many inputs (recog.progress)
        self.beam = beam
        self.alpha, self.beta, self.nbest = alpha, beta, nbest
        self.output = self.recogniser.cfg.model.output
        if self.output != "ctc" and (beam or lm or nbest > 1):
            raise ValueError(f"beam search, LMs and n-best lists apply to CTC models; this is a "
                             f"model.output={self.output} model")
        self.scorer = make_scorer(lm, lm_unit, self.recogniser.symbols, lexicon) if lm else None
        if (self.scorer is not None or nbest > 1) and not beam:
            raise ValueError("an LM and n-best lists need the beam search (--beam N)")
        self.batch_size = batch_size
        self.device = torch.device(device)
        self.recogniser.model.to(self.device)
        self.precision = "fp32" if engine == "onnx" else resolve_precision(precision, self.device)
        self.cfg = self.recogniser.cfg
        self.collate = batcher(self.cfg.data)
        self.modality = self.cfg.features.modality
        # seconds per output frame (audio only): frame shift times the front end's subsampling
        self.frame_shift = 0.0
        if self.modality == "audio":
            sub = int(self.recogniser.model.output_lengths(torch.tensor([1000]))[0])
            self.frame_shift = self.cfg.features.audio.frame_shift_ms / 1000 * 1000 / max(1, sub)

    def features(self, path, name: str = ""):
        """Normalised features of a file, or of a line image in memory (``name``: its origin)."""
        f = extract(path, self.cfg.features, require_content=True, name=name)
        if self.recogniser.cmvn is not None:
            f = self.recogniser.cmvn(f)
        return torch.from_numpy(f)

    @torch.no_grad()
    def log_probs(self, examples: list[Example]) -> list[torch.Tensor]:
        """The model's (T, V) log-probabilities for each example (batched; outputs do not depend
        on what an utterance is batched with)."""
        logp, lens = self.outputs(examples)
        logp, lens = logp.float().cpu(), lens.cpu()
        return [logp[i, : lens[i]] for i in range(len(examples))]

    @torch.no_grad()
    def outputs(self, examples: list[Example]) -> tuple[torch.Tensor, torch.Tensor]:
        """The model's outputs and output lengths for a batch of examples."""
        b = self.collate(examples)
        with autocast(self.device, self.precision):  # the heads return float32 under autocast too
            return self.recogniser.model(b.feats.to(self.device), b.lengths.to(self.device), b.padding)

    def decode_examples(self, examples: list[Example]) -> list[list[Hypothesis]]:
        if self.beam and self.beam > 0:
            return [self.search(lp) for lp in self.log_probs(examples)]
        out, lens = self.outputs(examples)
        if self.output != "ctc":
            return [[p] for p in predictions(self.output, out, lens.cpu())]
        return [[h] for h in greedy_batch(out.float().cpu(), lens.cpu())]

    def search(self, logp: torch.Tensor) -> list[Hypothesis]:
        """Beam search of one utterance's (T, V) log-probs; n-best list, best first."""
        return prefix_beam_search(logp, beam=self.beam, nbest=self.nbest, lm=self.scorer, alpha=self.alpha,
                                  beta=self.beta, symbols=self.recogniser.symbols.symbols if self.scorer else None)

    #: inputs read ahead per window, in batches: a window's features are computed first, then its
    #: batches, sorted by length, go through the model back to back
    WINDOW_BATCHES = 8

    def transcribe_items(self, items: list[tuple[str, Callable[[], torch.Tensor], str]], on_error=None
                         ) -> tuple[list[Result], list[str]]:
        """(id, features getter, name for messages) -> results (in input order) and errors; a
        NoContent input gets an empty result and a warning (``on_error("warning: ...")``).

        Inputs go in windows of ``WINDOW_BATCHES`` batches: first every feature of the window, then
        the model on batches of similar length (the window sorted by length: less padding), then
        decoding.  Measured on the Hooker lines (2 cores, bf16): computing a batch's features
        between two forward passes made the network itself run 1.7x slower than back to back
        (caches and idle threads), and unsorted batches cost another 1.4x in padding; reading the
        next window in a second thread while the network runs was slower still (the network uses
        both cores), so there is none (``benchmarks/RESULTS.md``, "Transcription").  Outputs do not
        depend on what an input is batched with."""
        slots: list[Result | None] = [None] * len(items)
        errors: list[str] = []
        shown = bar(len(items), self.progress)  # stderr, > 20 inputs, a terminal; else nothing
        window = self.batch_size * self.WINDOW_BATCHES

        def read(start: int) -> list[tuple[int, Example]]:
            ready: list[tuple[int, Example]] = []
            for i in range(start, min(start + window, len(items))):
                example = self._example(items[i], on_error, errors)
                if example is None:  # an error: no result
                    shown.update(1)
                elif isinstance(example, Hypothesis):  # no content: an empty result
                    slots[i] = (items[i][0], example, self.frame_shift, [example])
                    shown.update(1)
                else:
                    ready.append((i, example))
            return ready

        for start in range(0, len(items), window):
            ready = read(start)
            ready.sort(key=lambda r: r[1].feats.shape[0])
            for b in range(0, len(ready), self.batch_size):
                batch = ready[b : b + self.batch_size]
                for (i, e), hyps in zip(batch, self.decode_examples([e for _, e in batch])):
                    slots[i] = (e.id, hyps[0], self.frame_shift, hyps)
                shown.update(len(batch))
        shown.close()
        return [r for r in slots if r is not None], errors

    def _example(self, item: tuple[str, Callable[[], torch.Tensor], str], on_error, errors: list[str]
                 ) -> Example | Hypothesis | None:
        """One input's features as an Example; an empty Hypothesis for an input without content
        (warned); None for one that failed (reported and listed in ``errors``)."""
        uid, get, name = item
        try:
            feats = get()
            if feats.shape[0] < 1 or int(self.recogniser.model.output_lengths(torch.tensor([feats.shape[0]]))[0]) < 1:
                raise FeatureError(f"{name}: too short to transcribe ({feats.shape[0]} frames)")
        except NoContent as e:
            if on_error:
                on_error(f"warning: {e}")
            return Hypothesis([], 0.0)
        except FeatureError as e:
            errors.append(str(e))
            if on_error:
                on_error(str(e))
            return None
        return Example(uid, feats, [], "")

    def transcribe_files(self, paths: list[Path], on_error=None, ids: list[str] | None = None
                         ) -> tuple[list[Result], list[str]]:
        ids = ids or input_ids(paths, [])
        items = [(uid, (lambda p=p: self.features(p)), str(p)) for uid, p in zip(ids, paths)]
        return self.transcribe_items(items, on_error)

    def read_manifest(self, path: str | Path) -> list[Utterance]:
        """A manifest to decode; FeatureError if its cached features were computed with other
        settings than this model's (``features.json`` next to it)."""
        utts = read_manifest(path)
        if any(u.feats for u in utts):
            check_settings(path, self.cfg.features)
        return utts

    def manifest_features(self, u: Utterance) -> torch.Tensor:
        """A record's cached features (``feats``) if any, else computed from its file."""
        if u.feats:
            f = load_cached(u.id, u.feats)
            if self.recogniser.cmvn is not None:
                f = apply_cmvn(self.recogniser.cmvn, f, u.speaker)
            return torch.from_numpy(f)
        return self.features(u.path)

    def transcribe_manifest(self, utts: list[Utterance], on_error=None) -> tuple[list[Result], list[str]]:
        if isinstance(self.recogniser.cmvn, SpeakerCMVN):  # these records' speakers' statistics
            self.recogniser.cmvn.fit(utts, lambda u: load_cached(u.id, u.feats))
        return self.transcribe_items([(u.id, (lambda u=u: self.manifest_features(u)), u.path) for u in utts], on_error)
