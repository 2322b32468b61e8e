"""``recog``: one command with verbs.  Each verb is a thin call into the library."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


from .commands import (cmd_align, cmd_decode, cmd_export, cmd_features, cmd_filter, cmd_lm, cmd_package, cmd_plot,
                       cmd_prep, cmd_score, cmd_train, cmd_transcribe, cmd_tune)

PREP_KINDS = ["lines", "pagexml", "iam", "timit", "ljspeech", "fsdd", "kaldi", "mix", "mnist", "sines", "frames"]


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", help="YAML config (see recipes/*/conf)")
    p.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. train.lr=3e-4")


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
    s.add_argument("--batch-size", type=_int_at_least(1), default=16)
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


def _add_stream_args(s: argparse.ArgumentParser) -> None:
    """``recog transcribe --stream`` (recog.transcribe_stream)."""
    s.add_argument("--stream", action="store_true",
                   help="feed the audio piece by piece (a file, or - for WAV or raw 16-bit PCM on standard input), "
                        "print partial transcripts as they grow (stderr; JSON lines on stdout with --format json), "
                        "then the final one")
    s.add_argument("--chunk-ms", type=float, help="--stream: piece size; a BLSTM's latency-controlled chunk (default: "
                   "the model's model.chunk, else 400; unidirectional: 100)")
    s.add_argument("--right-context-ms", type=float, help="--stream, BLSTM: audio after each chunk its backward "
                   "direction reads (default: the model's model.right_context, else 200)")
    s.add_argument("--rate", type=_int_at_least(1), help="--stream: sample rate of raw PCM on standard input "
                   "(default: the model's)")


def _add_device_arg(s: argparse.ArgumentParser) -> None:
    s.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (cuda when there is one)")
    s.add_argument("--precision", choices=["fp32", "bf16", "auto"], default="auto",
                   help="the network's arithmetic: bf16 autocast, or fp32; auto: bf16 on a GPU or a CPU with "
                        "AVX512-BF16/AMX, else fp32 (log-probs are float32 either way)")


def _add_progress_arg(s: argparse.ArgumentParser) -> None:
    s.add_argument("--no-progress", action="store_true",
                   help="no progress bar (else one on stderr for more than 20 inputs when stderr is a terminal)")


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
                   "mix: prepared corpora mixed with weights; mnist: the MNIST IDX files as digit images "
                   "(seqMNIST); sines: generated noisy sine waves and their frequencies (regression); frames: a "
                   "features folder's frames labelled from phone times (framewise classification)")
    s.add_argument("rest", nargs=argparse.REMAINDER, help="arguments of the reader (--help for them)")
    s.set_defaults(func=cmd_prep)

    s = sub.add_parser("features", help="compute and cache features for a manifest")
    s.add_argument("--data", required=True, help="manifest.jsonl or its folder")
    s.add_argument("--out", required=True, help="output folder: npy/, manifest.jsonl, text")
    s.add_argument("--cmvn", action="store_true", help="also write global CMVN statistics (training set)")
    s.add_argument("--perturb", metavar="LIST", help="audio: also perturbed copies of every utterance, e.g. "
                   "speed0.9,speed1.1,narrowband or vtlp0.9,vtlp1.1 (ids <perturbation>-<id>; training data)")
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
            _add_stream_args(s)
        _add_decode_args(s)
        s.add_argument("--engine", choices=["torch", "onnx"], default="torch",
                       help="onnx: --model is an exported model (recog export), run by ONNX Runtime")
        _add_progress_arg(s)
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
    _add_progress_arg(s)
    s.set_defaults(func=cmd_align)

    s = sub.add_parser("filter", help="clean training data: keep the utterances a trained model reads "
                       "with at most --max-er %% errors (greedy), report the others")
    s.add_argument("--model", required=True, help="packaged model or checkpoint trained on this data")
    s.add_argument("--data", required=True, help="manifest.jsonl or its folder")
    s.add_argument("--out", required=True, help="folder for the kept manifest.jsonl, text and rejected.tsv")
    s.add_argument("--max-er", type=float, required=True, help="utterance error rate (per cent) to keep at most")
    s.add_argument("--batch-size", type=_int_at_least(1), default=16)
    _add_device_arg(s)
    _add_progress_arg(s)
    s.set_defaults(func=cmd_filter)

    s = sub.add_parser("package", help="turn a checkpoint into a self-describing model file")
    s.add_argument("exp", help="experiment folder (uses best.pt) or checkpoint file")
    s.add_argument("out", help="output folder (model.pt is written there) or .pt file")
    s.add_argument("--average", nargs="+", metavar="CKPT", help="average the weights with these checkpoints")
    s.add_argument("--meta", action="append", metavar="KEY=VALUE", help="extra metadata stored in the file")
    s.set_defaults(func=cmd_package)

    s = sub.add_parser("export", help="write a packaged model as ONNX (dynamic batch and length) plus its "
                       "settings (.json beside it), for recog transcribe --engine onnx")
    s.add_argument("--model", required=True, help="packaged model (file or folder) or checkpoint")
    s.add_argument("--format", choices=["onnx"], default="onnx")
    s.add_argument("--int8", action="store_true", help="dynamic int8 quantisation (ONNX Runtime's quantize_dynamic)")
    s.add_argument("--out", required=True, help="a .onnx file, or a folder for model.onnx (model.int8.onnx)")
    s.set_defaults(func=cmd_export)

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
