"""The training loop.

Runs unchanged on one CPU, one GPU or under ``torchrun`` (DistributedDataParallel): rank 0 alone
logs, evaluates and writes checkpoints; every rank takes its slice of each global batch, so W
processes with batch B follow the trajectory of one process with batch W·B.  Each epoch (and
optionally every N steps) ``last.pt`` is written atomically; rerunning the same command resumes
from it exactly: model, optimiser, schedule, counters, RNG and position in the epoch.  A resumed
run must have the configuration it started with (``check_resume``).  SIGINT/SIGTERM stop at the
end of the current step with a checkpoint there.  ``best.pt`` follows the dev error rate, which
also drives early stopping (for label and frame models the error rate 100 − accuracy, for
regression the RMSE: ``recog.outputs``).  The loss of each output type is in ``recog.losses``.
"""

from __future__ import annotations

import csv
import gc
import math
import os
import shlex
import signal
import sys
import time
from pathlib import Path

import torch
import torch.distributed as dist

from .checkpoint import atomic_save, keep_epoch_weights, load_file, model_dict
from .config import Config
from .data import BucketBatchSampler, UtteranceDataset, batcher, collate, drop_missing_features
from .decode.greedy import greedy_batch
from .experiment import Logger, StopSignals, TrainingInterrupted, check_resume, find_tokens, lock_experiment
from .features.cache import check_settings, load_cached
from .features.cmvn import SpeakerCMVN, normaliser
from .losses import loss_function
from .manifest import Utterance, read_manifest
from .metrics import score
from .models import build_model
from .outputs import evaluate_targets, metric_column, metric_name
from .schedule import Schedule, make_optimizer
from .targets import TargetReader, num_outputs, output_symbols, usable
from .tokens import SymbolTable


def spec_augment(cfg: Config):
    """The SpecAugment masker ``train.spec_augment`` asks for (None when off)."""
    t = cfg.train
    if not t.spec_augment:
        return None
    if cfg.features.modality != "audio":
        raise ValueError("train.spec_augment applies to audio (features.modality=audio)")
    from .features.spec_augment import SpecAugment

    a = cfg.features.audio
    block = (a.num_mel_bins + int(a.energy)) if a.kind == "fbank" else a.num_ceps
    return SpecAugment(t.freq_masks, t.freq_width, t.time_masks, t.time_width, block=block)


def check_feature_dim(u: Utterance, cfg: Config) -> None:
    """Cached features must have been computed with this config's feature settings."""
    import numpy as np

    from .features import feature_dim

    if u.feats and os.path.exists(u.feats):
        got, want = np.load(u.feats, mmap_mode="r").shape[1], feature_dim(cfg.features)
        if got != want:
            raise ValueError(f"{u.feats}: cached features have {got} dims but the config gives {want}; "
                             "recompute features with this config")


def _dist() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


@torch.no_grad()
def evaluate(model, utts: list[Utterance], cfg: Config, symbols: SymbolTable, cmvn, device, batch_size: int = 16):
    """Greedy-decode ``utts`` and score them; returns (ErrorReport for the unit, word ErrorReport or None);
    other models than CTC: (their LabelReport or RegressionReport, None)."""
    if cfg.model.output != "ctc":
        return evaluate_targets(model, utts, cfg, symbols, cmvn, device, batch_size), None
    model.eval()
    ds = UtteranceDataset(utts, cfg.features, None, cmvn)
    lengths = [u.num_frames or 0 for u in utts]
    sampler = BucketBatchSampler(lengths, batch_size, shuffle=False)
    loader = torch.utils.data.DataLoader(ds, batch_sampler=sampler, collate_fn=collate)
    hyps: dict[str, str] = {}
    for b in loader:
        logp, out_lens = model(b.feats.to(device), b.lengths.to(device))
        for uid, h in zip(b.ids, greedy_batch(logp.float().cpu(), out_lens.cpu())):
            hyps[uid] = symbols.decode(h.tokens)
    refs = {u.id: u.text or "" for u in utts}
    main = score(refs, hyps, symbols.unit if symbols.unit != "char" else "char")
    words = score(refs, hyps, "word") if symbols.unit == "char" else None
    model.train()
    return main, words


def train(
    cfg: Config,
    train_manifest: str | Path,
    valid_manifest: str | Path,
    exp: str | Path,
    tokens: str | Path | None = None,
    cmvn_path: str | Path | None = None,
    init: str | Path | None = None,
    restart: bool = False,
    argv: list[str] | None = None,
    max_steps: int = 0,
) -> Path:
    """Train a model; returns the path of ``best.pt``.  ``max_steps`` > 0 stops early (tests).
    Raises ``TrainingInterrupted`` after SIGINT/SIGTERM, with ``last.pt`` at the current step."""
    rank, world, local = _dist()
    exp = Path(exp)
    if cfg.model.output == "ctc":  # before the experiment folder exists: nothing left behind
        tokens = find_tokens(train_manifest, tokens)
    if rank == 0:
        exp.mkdir(parents=True, exist_ok=True)
    own_group = world > 1 and not dist.is_initialized()
    if own_group:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    lock = lock_experiment(exp) if rank == 0 else None  # noqa: F841 - held until the process ends
    run = Trainer(cfg, exp, rank, world, local, max_steps)
    run.setup(Path(train_manifest), Path(valid_manifest), tokens, cmvn_path, init, restart, argv)
    with StopSignals() as signals:
        run.signals = signals
        run.fit()
    run.close(own_group)
    return exp / "best.pt"


class Trainer:
    """One training run: its model, optimiser, schedule, data and counters.  The counters and
    the RNG are the ``train_state`` of a checkpoint; ``fit`` runs epochs until the end, early
    stopping, ``max_steps`` or a stop signal."""

    def __init__(self, cfg: Config, exp: Path, rank: int, world: int, local: int, max_steps: int):
        self.cfg, self.exp, self.rank, self.world, self.max_steps = cfg, exp, rank, world, max_steps
        self.log = Logger(exp / "log", rank)
        t = cfg.train
        if t.threads:
            torch.set_num_threads(t.threads)
        if t.device == "auto":
            self.device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
        else:
            self.device = torch.device(t.device if t.device != "cuda" else f"cuda:{local}")
        self.local = local
        self.epoch = self.start_batch = self.step = self.bad_epochs = 0
        self.best = math.inf
        self.signals = None

    # ---- set-up --------------------------------------------------------------------------

    def setup(self, train_manifest: Path, valid_manifest: Path, tokens, cmvn_path, init, restart, argv) -> None:
        cfg, t, log = self.cfg, self.cfg.train, self.log
        train_utts, valid_utts = read_manifest(train_manifest), read_manifest(valid_manifest)
        for m in (train_manifest, valid_manifest):
            check_settings(m, cfg.features, against="config")
        self.symbols = output_symbols(cfg.model, train_utts, tokens)  # label/frame: the data's classes
        stats = None
        if cfg.features.cmvn == "global" or cfg.features.cmvn_prior > 0:
            folder = train_manifest if train_manifest.is_dir() else train_manifest.parent
            cp = Path(cmvn_path) if cmvn_path else folder / "cmvn.pt"
            if not cp.is_file():
                raise FileNotFoundError(f"{cp}: CMVN statistics not found (features.cmvn={cfg.features.cmvn}"
                                        f"{', features.cmvn_prior' if cfg.features.cmvn_prior else ''}; "
                                        "recog features --cmvn writes them, or pass --cmvn)")
            stats = torch.load(cp, weights_only=True)
        self.cmvn = normaliser(cfg.features.cmvn, stats, cfg.features.cmvn_prior)
        torch.manual_seed(t.seed)
        n_out = num_outputs(cfg.model, self.symbols, train_utts)
        self.targets = TargetReader(cfg.model, self.symbols, n_out)
        self.model = build_model(cfg, n_out).to(self.device)
        last = self.exp / "last.pt"
        resume = last.exists() and not restart
        ck = load_file(last) if resume else None
        if ck is not None:
            check_resume(ck, cfg, self.symbols, last)
        elif init:
            from .finetune import load_encoder

            load_encoder(self.model, init, self.symbols, log)
        self.train_utts, self.valid_utts = self._usable(train_utts, valid_utts, train_manifest, valid_manifest)
        if isinstance(self.cmvn, SpeakerCMVN):  # the train and valid speakers' statistics
            self.cmvn.fit(self.train_utts + self.valid_utts, lambda u: load_cached(u.id, u.feats))
        self.opt = make_optimizer(cfg, self.model.parameters())
        self.sampler = BucketBatchSampler([u.num_frames for u in self.train_utts], t.batch_size, t.max_frames,
                                          True, t.seed, self.rank, self.world, cfg.data.sort_by_length)
        self.steps_per_epoch = len(self.sampler.batches())
        self.sched = Schedule(t.lr, t.schedule, t.warmup_steps, t.lr_factor, t.lr_patience, t.min_lr,
                              self.steps_per_epoch * t.epochs)
        if ck is not None:
            self._restore(ck, last)
        elif self.rank == 0:
            self._start_files(argv)
        n_params = sum(p.numel() for p in self.model.parameters())
        log(f"model: {n_params / 1e6:.2f}M parameters, {len(self.symbols)} symbols; {len(self.train_utts)} train / "
            f"{len(self.valid_utts)} valid utterances; {self.steps_per_epoch} batches per epoch"
            f"{' per process' if self.world > 1 else ''}; device {self.device}, world {self.world}")
        self.net = self.model
        if self.world > 1:
            ids = [self.local] if self.device.type == "cuda" else None
            self.net = torch.nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        augment = None
        if t.augment:
            if cfg.features.modality != "image":
                raise ValueError("train.augment applies to images (features.modality=image)")
            from .features.augment import AugmentParams, LineAugmenter

            augment = LineAugmenter(seed=t.seed, params=AugmentParams.writer_style() if t.writer_style else None)
        self.dataset = UtteranceDataset(self.train_utts, cfg.features, self.symbols, self.cmvn, augment=augment,
                                        feature_augment=spec_augment(cfg), targets=self.targets)
        self.loss = loss_function(cfg.model.output)
        self.unit_name = metric_name(cfg.model.output, self.symbols.unit)

    def _usable(self, train_utts, valid_utts, train_manifest, valid_manifest):
        if not self.cfg.train.augment:  # augmented training reads the images, not the cached features
            train_utts = drop_missing_features(train_utts, str(train_manifest), self.log)
        valid_utts = drop_missing_features(valid_utts, str(valid_manifest), self.log)
        if train_utts:
            check_feature_dim(train_utts[0], self.cfg)
        model = self.model
        train_utts = usable(train_utts, self.targets, lambda n: int(model.output_lengths(torch.tensor([n]))[0]),
                            self.log)
        if not train_utts:
            raise ValueError(f"{train_manifest}: no usable training utterances")
        if self.cfg.model.output != "ctc":  # references are needed to score
            return train_utts, usable(valid_utts, self.targets, None, lambda m: self.log(f"valid: {m}"))
        return train_utts, [u for u in valid_utts if u.num_frames]

    def _restore(self, ck: dict, path: Path) -> None:
        self.model.load_state_dict(ck["state_dict"])
        ts = ck["train_state"]
        self.opt.load_state_dict(ts["optimizer"])
        self.sched.load_state_dict(ts["schedule"])
        self.epoch, self.start_batch, self.step = ts["epoch"], ts["batch"], ts["step"]
        self.best, self.bad_epochs = ts["best"], ts["bad_epochs"]
        torch.set_rng_state(ts["rng"])
        self.log(f"resumed from {path}: epoch {self.epoch + 1}, batch {self.start_batch}, step {self.step}, "
                 f"best {self.best:.2f}")

    def _start_files(self, argv) -> None:
        self.cfg.dump(self.exp / "config.yaml")
        (self.exp / "cmd.txt").write_text(" ".join(shlex.quote(a) for a in (argv or sys.argv)) + "\n")
        with open(self.exp / "metrics.csv", "w", newline="") as f:
            csv.writer(f).writerow(["epoch", "step", "train_loss", metric_column(self.cfg.model.output), "valid_wer",
                                    "lr", "epoch_s", "frames_per_s", "lines_per_s"])

    # ---- checkpoints ---------------------------------------------------------------------

    def save(self, done_epoch: int, batch: int, path: Path) -> None:
        if self.rank != 0:
            return
        d = model_dict(self.model, self.cfg, self.symbols, self.cmvn, {"epoch": done_epoch, "step": self.step})
        d["train_state"] = {
            "optimizer": self.opt.state_dict(), "schedule": self.sched.state_dict(), "epoch": done_epoch,
            "batch": batch, "step": self.step, "best": self.best, "bad_epochs": self.bad_epochs,
            "rng": torch.get_rng_state(),
        }
        atomic_save(d, path)

    def _stop_requested(self) -> int:
        """The signal that asked to stop (0: none); under DDP every rank learns of any rank's."""
        got = self.signals.received if self.signals else 0
        if self.world > 1:
            flag = torch.tensor([got], device=self.device)
            dist.all_reduce(flag, op=dist.ReduceOp.MAX)
            got = int(flag[0])
        return got

    def _interrupted(self, signum: int, batch: int) -> TrainingInterrupted:
        self.save(self.epoch, batch, self.exp / "last.pt")
        name = signal.Signals(signum).name
        msg = (f"{name}: stopped at epoch {self.epoch + 1}, step {self.step}; checkpoint {self.exp / 'last.pt'}; "
               "rerun the same command to resume")
        self.log(msg)
        return TrainingInterrupted(signum, msg)

    # ---- the loop ------------------------------------------------------------------------

    def fit(self) -> None:
        t = self.cfg.train
        if self.bad_epochs >= t.patience:
            self.log(f"training already stopped early (no improvement for {self.bad_epochs} epochs); nothing to do")
            return
        while self.epoch < t.epochs:
            stats, batch = self._run_epoch()
            if batch < self.steps_per_epoch:  # stopped inside the epoch: resume at the next batch
                self.save(self.epoch, batch, self.exp / "last.pt")
                return
            if self._end_epoch(stats):
                return
            signum = self._stop_requested()
            if signum:
                raise self._interrupted(signum, 0)

    def _run_epoch(self) -> tuple[dict, int]:
        """Train from ``start_batch`` to the end of the epoch (or ``max_steps``, or a stop signal);
        returns the epoch's running statistics and the batch index reached."""
        t, device = self.cfg.train, self.device
        self.sampler.set_epoch(self.epoch, self.start_batch)
        # own generator: creating the loader must not consume the global RNG (exact resumption)
        loader = torch.utils.data.DataLoader(
            self.dataset, batch_sampler=self.sampler, collate_fn=batcher(self.cfg.data, training=True),
            num_workers=t.num_workers, generator=torch.Generator().manual_seed(t.seed + self.epoch))
        denominators = self.sampler.global_sizes()
        st = dict(t0=time.time(), frames=0, padded=0, lines=0, loss=0.0, n=0, nonfinite=0)
        from tqdm import tqdm

        tty = sys.stderr.isatty()
        bar = tqdm(loader, total=len(self.sampler), desc=f"epoch {self.epoch + 1}", leave=False, file=sys.stderr,
                   disable=self.rank != 0 or not tty, mininterval=1 if tty else 60)
        batch = self.start_batch
        for b in bar:
            for g in self.opt.param_groups:
                g["lr"] = self.sched.lr(self.step)
            x, lens = b.feats.to(device, non_blocking=True), b.lengths.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=t.amp):
                out, out_lens = self.net(x, lens, b.padding)
            loss, bad = self.loss(out, out_lens, b, device)
            self.opt.zero_grad(set_to_none=True)
            # mean over the global batch: DDP averages the W ranks' gradients, hence the factor W
            (loss * (self.world / denominators[batch])).backward()
            if t.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(self.model.parameters(), t.clip_norm)
            self.opt.step()
            self.step += 1
            batch += 1
            st["nonfinite"] += bad
            st["frames"] += int(b.lengths.sum())
            st["padded"] += b.feats.shape[0] * b.feats.shape[1]
            st["lines"] += len(b.ids)
            st["loss"] += float(loss.detach())
            st["n"] += len(b.ids)
            bar.set_postfix(loss=f"{st['loss'] / max(1, st['n']):.3f}", refresh=False)
            if t.log_every and self.step % t.log_every == 0:
                self._log_step(st)
            if t.checkpoint_every and self.step % t.checkpoint_every == 0:
                self.save(self.epoch, batch, self.exp / "last.pt")
            signum = self._stop_requested()
            if signum:
                bar.close()
                raise self._interrupted(signum, batch)
            if self.max_steps and self.step >= self.max_steps:
                break
        bar.close()
        return st, batch

    def _global(self, *values: float) -> list[float]:
        """Sums over the ranks (the values themselves in one process)."""
        if self.world == 1:
            return list(values)
        v = torch.tensor(values, dtype=torch.float64, device=self.device)
        dist.all_reduce(v)
        return v.tolist()

    def _log_step(self, st: dict) -> None:
        loss, n, frames, lines = self._global(st["loss"], st["n"], st["frames"], st["lines"])
        el = time.time() - st["t0"]
        self.log(f"epoch {self.epoch + 1} step {self.step} loss {loss / max(1, n):.6f} lr {self.sched.lr(self.step):.2e} "
                 f"{frames / el:.0f} frames/s {lines / el:.1f} lines/s")

    def _end_epoch(self, st: dict) -> bool:
        """Evaluate, log, step the schedule, checkpoint; True when training should stop."""
        t, rank = self.cfg.train, self.rank
        el = time.time() - st["t0"]
        loss, n, frames, lines, padded = self._global(st["loss"], st["n"], st["frames"], st["lines"], st["padded"])
        if st["nonfinite"]:
            self.log(f"warning: {st['nonfinite']} utterances had a non-finite CTC loss this epoch (zeroed)")
        main = words = None
        metric = 0.0
        if rank == 0:
            main, words = evaluate(self.model, self.valid_utts, self.cfg, self.symbols, self.cmvn, self.device)
            metric = main.error_rate
        if self.world > 1:
            m = torch.tensor([metric], device=self.device)
            dist.broadcast(m, 0)
            metric = float(m[0])
        improved = metric < self.best - 1e-9
        self.best, self.bad_epochs = (metric, 0) if improved else (self.best, self.bad_epochs + 1)
        self.sched.epoch_end(metric)
        train_loss = loss / max(1, n)
        if rank == 0:
            self.log(f"epoch {self.epoch + 1} done in {el:.0f}s: train loss {train_loss:.3f}, valid {self.unit_name} "
                     f"{metric:.2f}" + (f" WER {words.error_rate:.2f}" if words else "") +
                     f", {frames / el:.0f} frames/s, {lines / el:.1f} lines/s, padding "
                     f"{100 * (1 - frames / max(1, padded)):.1f}%" + (" (best)" if improved else ""))
            with open(self.exp / "metrics.csv", "a", newline="") as f:
                csv.writer(f).writerow([self.epoch + 1, self.step, f"{train_loss:.4f}", f"{metric:.3f}",
                                        f"{words.error_rate:.3f}" if words else "", f"{self.sched.lr(self.step):.3e}",
                                        f"{el:.1f}", f"{frames / el:.0f}", f"{lines / el:.2f}"])
        self.epoch, self.start_batch = self.epoch + 1, 0
        stop = False
        if self.bad_epochs >= t.patience:
            self.log(f"early stop: no improvement for {t.patience} epochs")
            stop = True
        if self.max_steps and self.step >= self.max_steps:
            stop = True
        self.save(self.epoch, 0, self.exp / "last.pt")
        if rank == 0:
            if improved:
                atomic_save(load_file(self.exp / "last.pt"), self.exp / "best.pt")
            if t.keep_epochs > 0:
                keep_epoch_weights(self.exp, self.epoch, t.keep_epochs)
        return stop

    def close(self, own_group: bool) -> None:
        """Tear down DDP while the interpreter is fully alive.  The DDP reducer holds gloo work
        objects with tensors; left to interpreter finalisation, a gloo thread can touch them
        after the GIL is gone and the rank aborts ("terminate called without an active
        exception", SIGABRT) although training finished.  So: drop the wrapper, collect the
        cycles it sits in, wait for every rank, then destroy the process group."""
        if self.world == 1:
            return
        self.net = None
        gc.collect()
        dist.barrier()
        if own_group:
            dist.destroy_process_group()
