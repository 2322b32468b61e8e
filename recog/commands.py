"""What each ``recog`` verb does: thin calls into the library (``recog.cli`` parses the command
line and calls these)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


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
                       device=_device(args), precision=args.precision, engine=getattr(args, "engine", "torch"),
                       progress=not getattr(args, "no_progress", False))


def _device(args) -> str:
    from .api import resolve_device

    return resolve_device(args.device)


def cmd_lm(args) -> int:
    from .decode.arpa import write_arpa
    from .decode.kneser_ney import train_kneser_ney
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
                     lexicon=args.lexicon, device=_device(args), precision=args.precision)
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

    tr = Transcriber(args.model, device=_device(args), precision=args.precision)
    if tr.modality != "audio" or tr.output != "ctc":
        raise ValueError("recog align needs a CTC speech model")
    if args.offsets:  # read before aligning: a bad file fails at once, not after the work
        try:
            offsets = json.loads(Path(args.offsets).read_text(encoding="utf-8"))
            offsets = {str(k): float(v) for k, v in offsets.items()}
        except (OSError, ValueError, AttributeError, TypeError) as e:
            raise ValueError(f"{args.offsets}: not a JSON object of symbol -> seconds ({e})") from None
    utts = tr.read_manifest(args.data)
    from .progress import write

    hyp, ref = align_manifest(tr, utts, log=write, progress=not args.no_progress)
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
    from .progress import write

    write(message if message.startswith("warning: ") else f"error: {message}")  # above a progress bar


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
    if getattr(args, "stream", False):
        from .transcribe_stream import transcribe_stream

        return transcribe_stream(args)
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
    from .pages import transcribe_page_files

    return transcribe_page_files(lambda: _transcriber(args), args.inputs, args.files_from, args.out_dir, args.out,
                                 on_error=_problem)


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
    from .progress import write

    res = filter_manifest(args.model, args.data, args.out, args.max_er, batch_size=args.batch_size,
                          log=write, device=_device(args),
                          precision=args.precision, progress=not args.no_progress)
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


def cmd_export(args) -> int:
    from .export import export_onnx

    r = export_onnx(args.model, args.out, int8=args.int8)
    c, mb = r["check"], r["onnx"].stat().st_size / 1e6
    agree = f", same best class on {100 * c['argmax_agreement']:.1f}% of outputs" if "argmax_agreement" in c else ""
    print(f"{r['onnx']} ({mb:.1f} MB, {r['precision']}) + {r['settings'].name}; against PyTorch on a padded batch "
          f"of {len(c['batch_lengths'])}: max |diff| {c['max_abs_diff']:.2g}{agree}")
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
