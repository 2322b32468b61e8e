"""``recog``: one command with verbs.  Each verb is a thin call into the library."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path


PREP_KINDS = ["lines", "pagexml", "iam", "timit", "ljspeech", "fsdd", "kaldi", "mix"]


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config (see recipes/*/conf)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. train.lr=3e-4")


def _load_config(args):
    from .config import Config

    return Config.load(args.config, args.overrides)


def cmd_prep(args) -> int:
    import importlib

    return importlib.import_module(f"data_prep.{args.kind}").main(args.rest) or 0


def cmd_features(args) -> int:
    import torch

    from .data import compute_features
    from .features.cache import check_settings, write_settings
    from .features.cmvn import CMVN
    from .manifest import read_manifest, write_manifest, write_text

    cfg = _load_config(args)
    utts = read_manifest(args.data)
    if args.perturb:
        from .data import perturbed_copies
        from .features.spec_augment import perturbation_names

        if cfg.features.modality != "audio":
            raise ValueError("--perturb applies to audio (features.modality=audio)")
        utts = perturbed_copies(utts, perturbation_names(args.perturb))
    out = Path(args.out)
    check_settings(out, cfg.features, against="config")  # finished files are reused: they must be these settings' own
    good = compute_features(utts, cfg.features, out / "npy", log=lambda m: print(m, file=sys.stderr))
    write_manifest(out / "manifest.jsonl", good)
    write_text(out / "text", sorted((u.id, u.text or "") for u in good))
    write_settings(out, cfg.features)
    if args.cmvn:
        import numpy as np

        stats = CMVN.estimate(np.load(u.feats).astype(np.float32) for u in good)
        torch.save(stats.state(), out / "cmvn.pt")
    print(f"{len(good)} of {len(utts)} utterances -> {out}", file=sys.stderr)
    return 0 if good else 1


def cmd_train(args) -> int:
    from .experiment import TrainingInterrupted
    from .train import train

    cfg = _load_config(args)
    try:
        train(cfg, args.train, args.valid, args.exp, tokens=args.tokens, cmvn_path=args.cmvn, init=args.init,
              restart=args.restart, argv=["recog"] + sys.argv[1:], max_steps=args.max_steps)
    except TrainingInterrupted as e:  # the checkpoint is written and the line saying how to resume logged
        return e.exit_code
    return 0


def _print_results(results, symbols, fmt: str, out) -> None:
    from .outputs import result_text

    for uid, hyp, frame_shift, nbest in results:
        text = result_text(hyp, symbols)  # a transcript; label, frame labels or values for other models
        if fmt == "text" and len(nbest) > 1:  # Kaldi n-best convention: <id>-<rank>
            for k, h in enumerate(nbest, 1):
                t = symbols.decode(h.tokens)
                out.write(f"{uid}-{k} {t}\n" if t else f"{uid}-{k}\n")
        elif fmt == "text":
            out.write(f"{uid} {text}\n" if text else f"{uid}\n")
        else:
            syms = [symbols.symbols[t] for t in hyp.tokens]
            out.write(json.dumps({
                "id": uid, "text": text, "score": round(hyp.score, 4),
                "symbols": [
                    {"symbol": s, "confidence": round(c, 4), "start_frame": a, "end_frame": b,
                     **({"start": round(a * frame_shift, 4), "end": round((b + 1) * frame_shift, 4)} if frame_shift else {})}
                    for s, c, a, b in zip(syms, hyp.confidences, hyp.start_frames, hyp.end_frames)
                ],
                **({"nbest": [{"text": symbols.decode(h.tokens), "score": round(h.score, 4),
                               "am_score": round(h.am_score, 4), "lm_score": round(h.lm_score, 4)} for h in nbest]}
                   if len(nbest) > 1 else {}),
                **({"values": hyp.values} if getattr(hyp, "kind", "") == "regression" else {}),
            }, ensure_ascii=False) + "\n")
    out.flush()


def _transcriber(args):
    from .infer import Transcriber

    return Transcriber(args.model, beam=args.beam, batch_size=args.batch_size, lm=args.lm, lm_unit=args.lm_unit,
                       lexicon=args.lexicon, alpha=args.alpha, beta=args.beta, nbest=args.nbest,
                       device=_device(args))


def _device(args) -> str:
    from .api import resolve_device

    return resolve_device(args.device)


def cmd_lm(args) -> int:
    from .decode.lm import train_kneser_ney, write_arpa
    from .tokens import SymbolTable

    splitter = SymbolTable(["<blk>"], "char" if args.unit == "char" else "phone")
    sents = []
    with open(args.text, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not args.plain:
                line = line.split(maxsplit=1)[1] if " " in line else ""
            if line:
                sents.append(splitter.split(line))
    if not sents:
        raise ValueError(f"{args.text}: no sentences")
    lm = train_kneser_ney(sents, args.order)
    write_arpa(lm, args.out)
    print(f"{args.out}: order {args.order}, {' '.join(f'{n}-grams {c}' for n, c in enumerate(lm.counts(), 1))}",
          file=sys.stderr)
    return 0


def cmd_tune(args) -> int:
    """Grid search of the LM weight and insertion bonus on a dev set (log-probs computed once)."""
    from .data import Example
    from .infer import Transcriber
    from .metrics import score

    tr = Transcriber(args.model, beam=args.beam, batch_size=args.batch_size, lm=args.lm, lm_unit=args.lm_unit,
                     lexicon=args.lexicon, device=_device(args))
    utts = tr.read_manifest(args.data)
    refs = {u.id: u.text or "" for u in utts}
    sym = tr.recogniser.symbols
    logps = {}
    for i in range(0, len(utts), args.batch_size):
        chunk = utts[i : i + args.batch_size]
        exs = [Example(u.id, tr.manifest_features(u), [], "") for u in chunk]
        for u, lp in zip(chunk, tr.log_probs(exs)):
            logps[u.id] = lp
    unit = sym.unit
    alphas = [float(a) for a in args.alphas.split(",")]
    betas = [float(b) for b in args.betas.split(",")]
    best = None
    print(f"{'alpha':>6} {'beta':>6} {'%ER':>7}" + (f" {'%WER':>7}" if unit == "char" else ""))
    for a in alphas:
        for b in betas:
            tr.alpha, tr.beta = a, b
            hyps = {uid: sym.decode(tr.search(lp)[0].tokens) for uid, lp in logps.items()}
            er = score(refs, hyps, unit).error_rate
            wer = score(refs, hyps, "word").error_rate if unit == "char" else None
            print(f"{a:6.2f} {b:6.2f} {er:7.2f}" + (f" {wer:7.2f}" if wer is not None else ""), flush=True)
            if best is None or er < best[0]:
                best = (er, a, b)
    print(f"best: --alpha {best[1]} --beta {best[2]} ({best[0]:.2f})")
    return 0


def cmd_align(args) -> int:
    from .align import align_manifest, apply_offsets, boundary_accuracy, fit_offsets, write_ctm, write_phn
    from .infer import Transcriber

    tr = Transcriber(args.model, device=_device(args))
    if tr.modality != "audio" or tr.output != "ctc":
        raise ValueError("recog align needs a CTC speech model")
    if args.offsets:  # read before aligning: a bad file fails at once, not after the work
        try:
            offsets = json.loads(Path(args.offsets).read_text(encoding="utf-8"))
            offsets = {str(k): float(v) for k, v in offsets.items()}
        except (OSError, ValueError, AttributeError, TypeError) as e:
            raise ValueError(f"{args.offsets}: not a JSON object of symbol -> seconds ({e})") from None
    utts = tr.read_manifest(args.data)
    hyp, ref = align_manifest(tr, utts, log=lambda m: print(m, file=sys.stderr))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.fit_offsets:
        if not ref:
            raise ValueError(f"--fit-offsets needs reference segments, and {args.data} has none")
        fitted = fit_offsets(dict(ref), dict(hyp))
        Path(args.fit_offsets).write_text(json.dumps(fitted, indent=1) + "\n", encoding="utf-8")
        print(f"boundary offsets for {len(fitted)} symbols -> {args.fit_offsets}", file=sys.stderr)
    if args.offsets:
        if ref:
            print("without offsets: " + _boundary_line(boundary_accuracy(dict(ref), dict(hyp))))
        hyp = [(uid, apply_offsets(segs, offsets)) for uid, segs in hyp]
    write_ctm(out / "hyp.ctm", hyp)
    if args.textgrid:
        from .align import write_textgrids

        n = write_textgrids(out, hyp, {u.id: u for u in utts},
                            tr.cfg.features.audio.frame_shift_ms / 1000, args.lexicon)
        if n:
            print(f"warning: {n} utterances have no words tier (their words, as --lexicon pronounces "
                  "them, are not the aligned phones)", file=sys.stderr)
    if args.phn:
        for uid, segs in hyp:
            write_phn(out / f"{uid}.PHN", segs, tr.cfg.features.audio.sample_rate)
    print(f"{len(hyp)} utterances aligned -> {out / 'hyp.ctm'}", file=sys.stderr)
    if ref:
        write_ctm(out / "ref.ctm", ref)
        r = boundary_accuracy(dict(ref), dict(hyp))
        print(_boundary_line(r))
    return 0


def _boundary_line(r: dict) -> str:
    within = ", ".join(f"{1000 * t:.0f} ms {p:.1f}%" for t, p in r["within"].items())
    return f"boundaries within {within} ({r['boundaries']} boundaries, {r['utterances']} utterances)"


def _problem(message: str) -> None:
    """An input that could not be used ("error: ...") or was odd ("warning: ..."), on stderr."""
    print(message if message.startswith("warning: ") else f"error: {message}", file=sys.stderr)


def cmd_decode(args) -> int:
    tr = _transcriber(args)
    utts = tr.read_manifest(args.data)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    results, errors = tr.transcribe_manifest(utts, on_error=_problem)
    _print_results(results, tr.recogniser.symbols, args.format, out)
    if errors:
        print(f"{len(errors)} record(s) could not be decoded (see above)", file=sys.stderr)
    return 1 if errors else 0


def cmd_transcribe(args) -> int:
    from .infer import collect_inputs, input_ids

    if not args.inputs and not args.files_from:
        raise ValueError("no inputs: give image or audio files or folders, or --files-from LIST")
    if args.pages:
        return _transcribe_pages(args)
    if args.out_dir:
        raise ValueError("--out-dir is for --pages (where the transcribed layout files go)")
    tr = _transcriber(args)
    paths, errors = collect_inputs(args.inputs, args.files_from, tr.modality)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if not paths:
        raise ValueError(f"no {tr.modality} files to transcribe in {', '.join(args.inputs) or args.files_from}")
    ids = input_ids(paths, args.inputs, args.relative_ids)
    out = open(args.out, "w", encoding="utf-8") if args.out else sys.stdout
    results, bad = tr.transcribe_files(paths, on_error=_problem, ids=ids)
    _print_results(results, tr.recogniser.symbols, args.format, out)
    if args.ref:
        from .manifest import read_text
        from .metrics import score
        from .outputs import result_text

        refs = read_text(args.ref)
        hyps = {r[0]: result_text(r[1], tr.recogniser.symbols) for r in results}
        refs = {k: v for k, v in refs.items() if k in hyps or not args.only_decoded}
        if tr.output != "ctc":
            from .target_metrics import score_text

            unit = "regression" if tr.output == "regression" else "label"
            print(score_text(refs, hyps, unit, args.ref, "the hypotheses").format(), file=sys.stderr)
        units = [tr.recogniser.symbols.unit] + (["word"] if tr.recogniser.symbols.unit == "char" else [])
        for unit in units if tr.output == "ctc" else []:
            print(score(refs, hyps, unit).format(top_confusions=0), file=sys.stderr)
    n_bad = len(errors) + len(bad)
    if n_bad:
        print(f"{n_bad} input(s) could not be transcribed (see above)", file=sys.stderr)
    return 1 if n_bad else 0


def _transcribe_pages(args) -> int:
    """``recog transcribe --pages``: layout files (PAGE XML, ALTO) in, ``<stem>.recog.xml`` out."""
    from .pages import PageTranscriber, find_layouts

    items = list(args.inputs)
    if args.files_from:
        from .manifest import read_lines

        items += [ln.strip() for ln in read_lines(args.files_from) if ln.strip() and not ln.startswith("#")]
    files, errors = find_layouts(items)
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    if not files:
        raise ValueError(f"no PAGE XML or ALTO files in {', '.join(items)}")
    pt = PageTranscriber(_transcriber(args))
    done, bad = pt.pages(files, Path(args.out_dir) if args.out_dir else None, on_error=_problem)
    out = open(args.out, "w", encoding="utf-8") if args.out else None
    for r in done:
        sources = [src for *_, src in r.lines]
        print(f"{r.out}: {len(r.lines)} lines ({sources.count('baseline')} cut from the baseline)", file=sys.stderr)
        if out:
            stem = "_".join(r.xml.stem.split())
            for lid, text, _, _ in r.lines:
                out.write(f"{stem}_{'_'.join(lid.split())} {text}".rstrip() + "\n")
    if out:
        out.close()
    n_bad = len(errors) + len(bad)
    if n_bad:
        print(f"{n_bad} page(s) could not be transcribed (see above)", file=sys.stderr)
    return 1 if n_bad else 0


def cmd_score(args) -> int:
    from .manifest import read_text
    from .metrics import per_utterance_report, score

    if args.boundaries:
        from .align import boundary_accuracy, read_ctm

        r = boundary_accuracy(read_ctm(args.ref), read_ctm(args.hyp))
        print(_boundary_line(r))
        if r["skipped"]:
            print(f"warning: {len(r['skipped'])} utterances skipped (missing or different symbols)", file=sys.stderr)
        return 0
    refs, hyps = read_text(args.ref), read_text(args.hyp)
    if args.fold:
        from .phones import fold_text

        refs = {k: fold_text(v, args.fold) for k, v in refs.items()}
        hyps = {k: fold_text(v, args.fold) for k, v in hyps.items()}
    if refs and not set(refs) & set(hyps):
        raise ValueError(f"no id of {args.hyp} is in {args.ref} (reference ids such as {next(iter(refs))!r}"
                         + (f", hypothesis ids such as {next(iter(hyps))!r})" if hyps else "; no hypotheses)"))
    if args.unit in ("label", "regression"):
        return _score_targets(args, refs, hyps)
    rep = score(refs, hyps, args.unit)
    print(rep.format(top_confusions=args.confusions))  # says how many hypotheses are missing, if any
    if args.per_utt:
        Path(args.per_utt).write_text(per_utterance_report(rep) + "\n")
    if args.per_spk:
        from .metrics import speaker_tables

        print(speaker_tables(rep, Path(args.per_spk)))
    return 0


def _score_targets(args, refs: dict[str, str], hyps: dict[str, str]) -> int:
    """``recog score --unit label`` (accuracy, confusion matrix) or ``--unit regression`` (RMSE, MAE)."""
    from .target_metrics import score_text

    if args.per_utt or args.per_spk or args.fold:
        raise ValueError("--per-utt, --per-spk and --fold apply to --unit char, word and phone")
    rep = score_text(refs, hyps, args.unit, args.ref, args.hyp)
    print(rep.format(matrix=args.confusions > 0) if args.unit == "label" else rep.format())
    return 0


def cmd_filter(args) -> int:
    from .cleanup import filter_manifest

    res = filter_manifest(args.model, args.data, args.out, args.max_er, batch_size=args.batch_size,
                          log=lambda m: print(m, file=sys.stderr), device=_device(args))
    return 1 if res.failed else 0


def cmd_package(args) -> int:
    from .checkpoint import package

    src = Path(args.exp)
    ck = src / "best.pt" if src.is_dir() else src
    avg = args.average or []
    meta = {}
    for kv in args.meta or []:
        k, _, v = kv.partition("=")
        meta[k] = v
    dst = package(ck, args.out, meta=meta, average=avg)
    size = dst.stat().st_size / 1e6
    print(f"{dst} ({size:.1f} MB)")
    return 0


def cmd_plot(args) -> int:
    from . import plots

    try:
        plots.require_matplotlib()
    except plots.MissingMatplotlib as e:
        print(e, file=sys.stderr)
        return 2
    plots.check_out(args.out)
    if args.kind == "curves":
        from .plots.curves import plot_curves

        out = plot_curves(args.exps, args.out, x=args.x, log_loss=args.log_loss)
    elif args.kind == "posteriorgram":
        from .plots.posteriorgram import plot_posteriorgram

        out = plot_posteriorgram(args.model, args.input, args.out, ref=args.ref, top=args.top,
                                 threshold=args.threshold)
    elif args.kind == "activations":
        from .plots.activations import plot_activations

        out = plot_activations(args.model, args.input, args.out, layer=args.layer, units=args.units)
    else:
        from .plots.confusion import plot_confusion

        out = plot_confusion(args.ref, args.hyp, args.out, unit=args.unit, top=args.top)
    print(out)
    return 0


def _unit_list(v: str) -> list[int]:
    """``0,5,9`` or ``0-7,256``: unit numbers for ``recog plot activations --units``."""
    units = []
    try:
        for part in filter(None, (p.strip() for p in v.split(","))):
            a, _, b = part.partition("-")
            units += list(range(int(a), int(b) + 1)) if b else [int(a)]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{v!r}: expected unit numbers such as 0,5,9 or 0-7") from None
    return units


def _add_plot_parser(sub) -> None:
    """``recog plot KIND``: one figure kind per sub-verb, each written to --out (.png or .svg)."""
    s = sub.add_parser("plot", help="figures (needs matplotlib: pip install -e '.[plot]'): learning curves, "
                       "posteriorgram, LSTM activations, confusion matrix")
    kinds = s.add_subparsers(dest="kind", required=True, parser_class=_Parser)
    k = kinds.add_parser("curves", help="training loss and valid error rate of experiments (their metrics.csv)")
    k.add_argument("exps", nargs="+", metavar="EXP", help="experiment folders, or their metrics.csv files")
    k.add_argument("--x", choices=["epoch", "step"], default="epoch", help="x axis")
    k.add_argument("--log-loss", action="store_true", help="log scale for the training loss")
    for name, hlp in (("posteriorgram", "per-frame symbol posteriors of one input, greedy symbols marked "
                       "(and with --ref the forced alignment of the reference)"),
                      ("activations", "one encoder layer's units over time on one input: hidden state, and "
                       "for LSTMs cell state and gates")):
        k = kinds.add_parser(name, help=hlp)
        k.add_argument("input", help="one image or audio file")
        k.add_argument("--model", required=True, help="packaged model (file or folder) or checkpoint")
        if name == "posteriorgram":
            k.add_argument("--ref", metavar="TEXT", help="its reference transcript (phones: space-separated): "
                           "draw the CTC forced alignment")
            k.add_argument("--top", type=_int_at_least(1), default=30, help="show at most this many symbols")
            k.add_argument("--threshold", type=float, default=0.05,
                           help="show symbols whose posterior reaches this somewhere")
        else:
            k.add_argument("--layer", type=_int_at_least(0), default=0, help="encoder layer (0-based)")
            k.add_argument("--units", type=_unit_list, help="units of the layer's output, e.g. 0,5,9 or 0-7 "
                           "(a BiLSTM's forward units first, then the backward ones; default: the first 8)")
    k = kinds.add_parser("confusion", help="confusion matrix of REF and HYP (Kaldi text files) as recog score "
                         "aligns them")
    k.add_argument("ref")
    k.add_argument("hyp")
    k.add_argument("--unit", choices=["char", "word", "phone"], default="char")
    k.add_argument("--top", type=_int_at_least(1), default=20, help="the symbols in the most errors")
    for k in kinds.choices.values():
        k.add_argument("--out", required=True, help="figure file: .png or .svg")
    s.set_defaults(func=cmd_plot)


def _add_decode_args(s: argparse.ArgumentParser, tune: bool = False) -> None:
    s.add_argument("--beam", type=_int_at_least(0), default=25 if tune else 0, help="prefix beam search with this beam (0: greedy)")
    s.add_argument("--batch-size", type=_int_at_least(1), default=8)
    s.add_argument("--lm", help="ARPA n-gram LM for shallow fusion (needs --beam)")
    s.add_argument("--lm-unit", choices=["token", "word"], default="token",
                   help="token: the LM is over the model's symbols (characters incl. <space>, or phones); "
                        "word: a word LM applied when <space> completes a word")
    s.add_argument("--lexicon", help="word list restricting the words a word LM may output")
    _add_device_arg(s)
    if not tune:
        s.add_argument("--alpha", type=float, default=0.5, help="LM weight")
        s.add_argument("--beta", type=float, default=0.0, help="insertion bonus per LM unit")
        s.add_argument("--nbest", type=_int_at_least(1), default=1, help="n-best list size (text: <id>-<k> lines)")


def _add_device_arg(s: argparse.ArgumentParser) -> None:
    s.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (cuda when there is one)")


def _int_at_least(low: int):
    def parse(v: str) -> int:
        try:
            n = int(v)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{v!r} is not an integer") from None
        if n < low:
            raise argparse.ArgumentTypeError(f"{n} is below {low}")
        return n
    return parse


class _Parser(argparse.ArgumentParser):
    """argparse, with "did you mean" for a misspelled option."""

    def error(self, message: str):
        import difflib

        if message.startswith("unrecognized arguments:"):
            argv = getattr(self, "argv", None) or sys.argv[1:]
            verb = next((a for a in argv if not a.startswith("-")), None)
            known = [o for p in self._parsers(verb) for a in p._actions for o in a.option_strings]
            for bad in message.split(":", 1)[1].split():
                close = difflib.get_close_matches(bad.split("=")[0], known, n=1)
                if close:
                    message += f" (did you mean {close[0]}?)"
        super().error(message)

    def _parsers(self, verb: str | None) -> list[argparse.ArgumentParser]:
        """This parser and the one of ``verb`` (where the misspelled option belongs)."""
        subs = [a for a in self._actions if isinstance(a, argparse._SubParsersAction)]
        return [self] + [sp.choices[verb] for sp in subs if verb in sp.choices]


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = _Parser(prog="recog", description="BiLSTM-CTC speech and handwriting recognition")
    p.add_argument("--version", action="version", version=f"recog {__version__}")
    sub = p.add_subparsers(dest="verb", required=True, parser_class=_Parser)

    s = sub.add_parser("prep", help="read a corpus into data/<set>/{manifest.jsonl,text} and tokens.txt")
    s.add_argument("kind", choices=PREP_KINDS, help="lines: images + .gt.txt; pagexml: cut PAGE-XML pages into "
                   "images + .gt.txt (then `lines`); iam: the IAM layout; timit: the TIMIT layout; "
                   "ljspeech: audio + MFA TextGrids; fsdd: spoken digits; kaldi: Kaldi data dirs (+ lexicon); "
                   "mix: prepared corpora mixed with weights")
    s.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of the reader (--help for them)")
    s.set_defaults(func=cmd_prep)

    s = sub.add_parser("features", help="compute and cache features for a manifest")
    s.add_argument("--data", required=True, help="manifest.jsonl or its folder")
    s.add_argument("--out", required=True, help="output folder: npy/, manifest.jsonl, text")
    s.add_argument("--cmvn", action="store_true", help="also write global CMVN statistics (training set)")
    s.add_argument("--perturb", metavar="LIST", help="audio: also perturbed copies of every utterance, e.g. "
                   "speed0.9,speed1.1,narrowband (ids <perturbation>-<id>; training data)")
    _add_config_args(s)
    s.set_defaults(func=cmd_features)

    s = sub.add_parser("train", help="train a model; rerunning resumes from the last checkpoint")
    s.add_argument("--train", required=True, help="training manifest (with cached features)")
    s.add_argument("--valid", required=True, help="dev manifest for early stopping")
    s.add_argument("--tokens", help="tokens.txt (default: the first of tokens.txt in the train folder, in its "
                   "parent, or ../../data/tokens.txt: the recipes' data/ beside feats/)")
    s.add_argument("--cmvn", help="cmvn.pt (default: next to the train manifest)")
    s.add_argument("--exp", required=True, help="experiment folder")
    s.add_argument("--init", help="initialise the encoder from this model")
    s.add_argument("--restart", action="store_true", help="ignore an existing last.pt and start over")
    s.add_argument("--max-steps", type=int, default=0, help=argparse.SUPPRESS)
    _add_config_args(s)
    s.set_defaults(func=cmd_train)

    for name, fn, hlp in (("decode", cmd_decode, "decode a manifest's cached features"),
                          ("transcribe", cmd_transcribe, "transcribe image/audio files or folders")):
        s = sub.add_parser(name, help=hlp)
        s.add_argument("--model", required=True, help="packaged model (file or folder) or checkpoint")
        if name == "decode":
            s.add_argument("--data", required=True, help="manifest.jsonl or its folder")
        else:
            s.add_argument("inputs", nargs="*", help="files or folders")
            s.add_argument("--files-from", help="a file listing input paths, one per line")
            s.add_argument("--ref", help="Kaldi text of references: print the error rate at the end")
            s.add_argument("--only-decoded", action="store_true", help="with --ref: score only ids that were transcribed")
            s.add_argument("--pages", action="store_true",
                           help="inputs are PAGE XML or ALTO files (or folders of them) with their page images: "
                                "every line is cut, transcribed and written back into <stem>.recog.xml")
            s.add_argument("--out-dir", help="with --pages: write the .recog.xml files here, not next to the inputs")
            s.add_argument("--relative-ids", action="store_true",
                           help="ids are paths relative to the input folder (a/line, b/line), not file stems; "
                                "without it two inputs with the same stem are an error")
        _add_decode_args(s)
        s.add_argument("--format", choices=["text", "json"], default="text")
        s.add_argument("--out", help="write here instead of stdout")
        s.set_defaults(func=fn)

    s = sub.add_parser("lm", help="train an n-gram LM (modified Kneser-Ney) and write it as ARPA")
    s.add_argument("--text", required=True, help="Kaldi text file (<id> <transcript>), or plain text with --plain")
    s.add_argument("--plain", action="store_true", help="the text file has no ids")
    s.add_argument("--unit", choices=["char", "word", "phone"], default="char",
                   help="char: characters with <space>; word/phone: whitespace-separated tokens")
    s.add_argument("--order", type=int, default=6)
    s.add_argument("--out", required=True, help="output .arpa (or .arpa.gz)")
    s.set_defaults(func=cmd_lm)

    s = sub.add_parser("tune", help="grid-search --alpha and --beta on a dev manifest")
    s.add_argument("--model", required=True)
    s.add_argument("--data", required=True, help="dev manifest.jsonl or its folder")
    s.add_argument("--alphas", default="0,0.25,0.5,0.75,1.0,1.5")
    s.add_argument("--betas", default="0,0.5,1,2")
    _add_decode_args(s, tune=True)
    s.set_defaults(func=cmd_tune, beam=25)

    s = sub.add_parser("score", help="error rate of HYP against REF (Kaldi text files)")
    s.add_argument("ref")
    s.add_argument("hyp")
    s.add_argument("--unit", choices=["char", "word", "phone", "label", "regression"], default="char",
                   help="label: <id> <label> (or one label per frame) lines: accuracy and confusion matrix; "
                        "regression: <id> <numbers> lines: RMSE and MAE")
    s.add_argument("--confusions", type=int, default=10, help="show the N commonest substitutions "
                   "(--unit label: 0 leaves out the confusion matrix)")
    s.add_argument("--fold", type=int, choices=[48, 39], help="fold TIMIT phones of both sides to this set first")
    s.add_argument("--boundaries", action="store_true",
                   help="REF and HYP are CTM segmentations: report boundaries within 10/20/40 ms")
    s.add_argument("--per-utt", help="write a per-utterance report here")
    s.add_argument("--per-spk", metavar="DIR", help="also print error rates by speaker, gender and age band "
                   "(DIR holds Kaldi utt2spk and optionally spk2gender, spk2age, as recog prep kaldi writes)")
    s.set_defaults(func=cmd_score)

    s = sub.add_parser("align", help="CTC forced alignment of transcripts to audio (CTM, optional .PHN)")
    s.add_argument("--model", required=True)
    s.add_argument("--data", required=True, help="manifest.jsonl (with transcripts) or its folder")
    s.add_argument("--out", required=True, help="output folder: hyp.ctm (+ ref.ctm and a boundary score when "
                   "the manifest has reference segments)")
    s.add_argument("--phn", action="store_true", help="also write TIMIT-style <id>.PHN files")
    s.add_argument("--textgrid", action="store_true", help="also write Praat <id>.TextGrid files (phones tier)")
    s.add_argument("--lexicon", help="word -> ARPAbet pronunciations: adds a words tier to the TextGrids, for "
                   "records with their words (as recog prep kaldi and ljspeech write them)")
    s.add_argument("--fit-offsets", metavar="JSON", help="fit per-symbol boundary corrections (median of "
                   "reference - aligned start) on this data's reference segments and write them here; "
                   "fit on training data, apply with --offsets elsewhere")
    s.add_argument("--offsets", metavar="JSON", help="shift each symbol's start by its fitted correction")
    _add_device_arg(s)
    s.set_defaults(func=cmd_align)

    s = sub.add_parser("filter", help="clean training data: keep the utterances a trained model reads "
                       "with at most --max-er %% errors (greedy), report the others")
    s.add_argument("--model", required=True, help="packaged model or checkpoint trained on this data")
    s.add_argument("--data", required=True, help="manifest.jsonl or its folder")
    s.add_argument("--out", required=True, help="folder for the kept manifest.jsonl, text and rejected.tsv")
    s.add_argument("--max-er", type=float, required=True, help="utterance error rate (per cent) to keep at most")
    s.add_argument("--batch-size", type=_int_at_least(1), default=16)
    _add_device_arg(s)
    s.set_defaults(func=cmd_filter)

    s = sub.add_parser("package", help="turn a checkpoint into a self-describing model file")
    s.add_argument("exp", help="experiment folder (uses best.pt) or checkpoint file")
    s.add_argument("out", help="output folder (model.pt is written there) or .pt file")
    s.add_argument("--average", nargs="+", metavar="CKPT", help="average the weights with these checkpoints")
    s.add_argument("--meta", action="append", metavar="KEY=VALUE", help="extra metadata stored in the file")
    s.set_defaults(func=cmd_package)

    _add_plot_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    parser.argv = argv
    args = parser.parse_args(argv)
    out = getattr(args, "out", None)
    if out and args.verb != "prep":  # every verb's --out may name a folder that does not exist yet
        Path(out).parent.mkdir(parents=True, exist_ok=True)
    from .config import ConfigError
    from .manifest import ManifestError
    from .experiment import ExperimentBusy

    try:
        return args.func(args)
    except (ConfigError, ManifestError, FileNotFoundError, ValueError, ExperimentBusy) as e:
        print(f"recog {args.verb}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside the training loop (which stops cleanly by itself)
        print(f"recog {args.verb}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (`recog score ... | head -1`): stop quietly, as cat and grep do;
        # stdout is pointed at devnull so the interpreter's final flush cannot fail again
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
