"""The training loop.

Runs unchanged on one CPU, one GPU or under ``torchrun`` (DistributedDataParallel): rank 0 alone
logs, evaluates and writes checkpoints; every rank takes its own share of the bucketed batches.
Each epoch (and optionally every N steps) ``last.pt`` is written atomically; rerunning the same
command resumes from it exactly: model, optimiser, schedule, counters, RNG and position in the
epoch.  ``best.pt`` follows the dev error rate, which also drives early stopping.
"""

from __future__ import annotations

import csv
import math
import os
import shlex
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.distributed as dist
import torch.nn.functional as F

from .checkpoint import atomic_save, keep_epoch_weights, load_file, model_dict
from .config import Config
from .data import BucketBatchSampler, UtteranceDataset, collate, drop_missing_features, filter_trainable
from .decode.greedy import greedy_batch
from .features.cache import check_settings
from .features.cmvn import CMVN
from .manifest import Utterance, read_manifest
from .metrics import score
from .models import build_model
from .tokens import SymbolTable


def check_feature_dim(u: Utterance, cfg: Config) -> None:
    """Cached features must have been computed with this config's feature settings."""
    import numpy as np

    from .features import feature_dim

    if u.feats and os.path.exists(u.feats):
        got, want = np.load(u.feats, mmap_mode="r").shape[1], feature_dim(cfg.features)
        if got != want:
            raise ValueError(f"{u.feats}: cached features have {got} dims but the config gives {want}; "
                             "recompute features with this config")


@dataclass
class Schedule:
    """Learning rate: optional linear warm-up, then plateau decay on the dev metric, cosine
    decay over all steps, or constant.  Its state is a plain dict, so it checkpoints exactly."""

    base_lr: float
    kind: str
    warmup: int
    factor: float
    patience: int
    min_lr: float
    total_steps: int
    current: float = 0.0
    best: float = math.inf
    bad: int = 0
    history: list = field(default_factory=list)

    def __post_init__(self):
        self.current = self.current or self.base_lr

    def lr(self, step: int) -> float:
        lr = self.current
        if self.kind == "cosine":
            p = min(1.0, step / max(1, self.total_steps))
            lr = self.min_lr + 0.5 * (self.base_lr - self.min_lr) * (1 + math.cos(math.pi * p))
        if self.warmup and step < self.warmup:
            lr *= (step + 1) / self.warmup
        return lr

    def epoch_end(self, metric: float) -> None:
        if self.kind != "plateau":
            return
        if metric < self.best - 1e-9:
            self.best, self.bad = metric, 0
        else:
            self.bad += 1
            if self.bad > self.patience:
                self.current, self.bad = max(self.min_lr, self.current * self.factor), 0

    def state_dict(self) -> dict:
        return {"current": self.current, "best": self.best, "bad": self.bad}

    def load_state_dict(self, d: dict) -> None:
        self.current, self.best, self.bad = d["current"], d["best"], d["bad"]


def _dist() -> tuple[int, int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    return int(os.environ.get("RANK", "0")), world, int(os.environ.get("LOCAL_RANK", "0"))


class ExperimentBusy(RuntimeError):
    """Another training run holds the experiment folder."""


def _lock_experiment(exp: Path):
    """An exclusive lock on the experiment folder: two runs writing one folder would corrupt each
    other's checkpoints.  The kernel drops it when the process dies, kill -9 included."""
    import fcntl

    f = open(exp / ".train.lock", "w")
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        f.close()
        raise ExperimentBusy(f"{exp}: another training run is using this experiment folder") from None
    return f


class Logger:
    def __init__(self, path: Path | None, rank: int):
        self.rank = rank
        self.f = open(path, "a", encoding="utf-8") if (path and rank == 0) else None

    def __call__(self, msg: str) -> None:
        if self.rank != 0:
            return
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {msg}"
        print(line, flush=True)
        if self.f:
            self.f.write(line + "\n")
            self.f.flush()


def make_optimizer(cfg: Config, params):
    t = cfg.train
    if t.optimizer == "adam":
        return torch.optim.Adam(params, lr=t.lr, weight_decay=t.weight_decay)
    if t.optimizer == "rmsprop":
        return torch.optim.RMSprop(params, lr=t.lr, weight_decay=t.weight_decay)
    return torch.optim.SGD(params, lr=t.lr, momentum=t.momentum, weight_decay=t.weight_decay)


def ctc_loss(logp: torch.Tensor, out_lens: torch.Tensor, labels: torch.Tensor, label_lens: torch.Tensor):
    """Summed CTC loss over the batch and the number of utterances whose loss was not finite
    (those are zeroed, never propagated)."""
    per_utt = F.ctc_loss(
        logp.transpose(0, 1).float(), labels, out_lens, label_lens, blank=0, reduction="none", zero_infinity=True
    )
    bad = int((per_utt == 0).logical_and(label_lens > 0).sum())
    return per_utt.sum(), bad


@torch.no_grad()
def evaluate(model, utts: list[Utterance], cfg: Config, symbols: SymbolTable, cmvn, device, batch_size: int = 16):
    """Greedy-decode ``utts`` and score them; returns (ErrorReport for the unit, word ErrorReport or None)."""
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
    """Train a model; returns the path of ``best.pt``.  ``max_steps`` > 0 stops early (tests)."""
    rank, world, local = _dist()
    exp = Path(exp)
    if rank == 0:
        exp.mkdir(parents=True, exist_ok=True)
    own_group = world > 1 and not dist.is_initialized()
    if own_group:
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    lock = _lock_experiment(exp) if rank == 0 else None  # noqa: F841 - held until the process ends
    log = Logger(exp / "log", rank)
    t = cfg.train
    if t.threads:
        torch.set_num_threads(t.threads)
    if t.device == "auto":
        device = torch.device(f"cuda:{local}" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(t.device if t.device != "cuda" else f"cuda:{local}")

    train_utts = read_manifest(train_manifest)
    valid_utts = read_manifest(valid_manifest)
    for m in (train_manifest, valid_manifest):
        check_settings(m, cfg.features, against="config")
    tokens = Path(tokens) if tokens else Path(train_manifest).parent.parent / "tokens.txt"
    if not tokens.exists():
        raise FileNotFoundError(f"{tokens}: symbol table not found (pass --tokens)")
    symbols = SymbolTable.read(tokens)
    cmvn = None
    if cfg.features.cmvn:
        cp = Path(cmvn_path) if cmvn_path else Path(train_manifest).parent / "cmvn.pt"
        cmvn = CMVN.from_state(torch.load(cp, weights_only=True))

    torch.manual_seed(t.seed)
    model = build_model(cfg, len(symbols)).to(device)
    if init:
        from .finetune import load_encoder

        load_encoder(model, init, symbols, log)
    if not t.augment:  # augmented training reads the images, not the cached features
        train_utts = drop_missing_features(train_utts, str(train_manifest), log)
    valid_utts = drop_missing_features(valid_utts, str(valid_manifest), log)
    if train_utts:
        check_feature_dim(train_utts[0], cfg)
    train_utts = filter_trainable(
        train_utts, symbols, lambda n: int(model.output_lengths(torch.tensor([n]))[0]), log
    )
    if not train_utts:
        raise ValueError(f"{train_manifest}: no usable training utterances")
    valid_utts = [u for u in valid_utts if u.num_frames]

    opt = make_optimizer(cfg, model.parameters())
    sampler = BucketBatchSampler([u.num_frames for u in train_utts], t.batch_size, t.max_frames, True, t.seed, rank, world)
    steps_per_epoch = len(sampler.batches())
    sched = Schedule(t.lr, t.schedule, t.warmup_steps, t.lr_factor, t.lr_patience, t.min_lr, steps_per_epoch * t.epochs)

    epoch, start_batch, step, best, bad_epochs = 0, 0, 0, math.inf, 0
    last = exp / "last.pt"
    if last.exists() and not restart:
        ck = load_file(last)
        model.load_state_dict(ck["state_dict"])
        ts = ck["train_state"]
        opt.load_state_dict(ts["optimizer"])
        sched.load_state_dict(ts["schedule"])
        epoch, start_batch, step = ts["epoch"], ts["batch"], ts["step"]
        best, bad_epochs = ts["best"], ts["bad_epochs"]
        torch.set_rng_state(ts["rng"])
        log(f"resumed from {last}: epoch {epoch + 1}, batch {start_batch}, step {step}, best {best:.2f}")
    elif rank == 0:
        cfg.dump(exp / "config.yaml")
        (exp / "cmd.txt").write_text(" ".join(shlex.quote(a) for a in (argv or sys.argv)) + "\n")
        with open(exp / "metrics.csv", "w", newline="") as f:
            csv.writer(f).writerow(
                ["epoch", "step", "train_loss", "valid_er", "valid_wer", "lr", "epoch_s", "frames_per_s", "lines_per_s"]
            )
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params / 1e6:.2f}M parameters, {len(symbols)} symbols; {len(train_utts)} train / "
        f"{len(valid_utts)} valid utterances; {steps_per_epoch} batches per epoch"
        f"{' per process' if world > 1 else ''}; device {device}, world {world}")

    net = model
    if world > 1:
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=[local] if device.type == "cuda" else None)
    augment = None
    if t.augment:
        if cfg.features.modality != "image":
            raise ValueError("train.augment applies to images (features.modality=image)")
        from .features.augment import LineAugmenter

        augment = LineAugmenter(seed=t.seed)
    ds = UtteranceDataset(train_utts, cfg.features, symbols, cmvn, augment=augment)
    unit_name = {"char": "CER", "phone": "PER", "word": "WER"}[symbols.unit]

    def save(done_epoch: int, batch: int, path: Path) -> None:
        if rank != 0:
            return
        d = model_dict(model, cfg, symbols, cmvn, {"epoch": done_epoch, "step": step})
        d["train_state"] = {
            "optimizer": opt.state_dict(), "schedule": sched.state_dict(), "epoch": done_epoch, "batch": batch,
            "step": step, "best": best, "bad_epochs": bad_epochs, "rng": torch.get_rng_state(),
        }
        atomic_save(d, path)

    from tqdm import tqdm

    stop = bad_epochs >= t.patience
    if stop:
        log(f"training already stopped early (no improvement for {bad_epochs} epochs); nothing to do")
    while epoch < t.epochs and not stop:
        sampler.set_epoch(epoch, start_batch)
        # own generator: creating the loader must not consume the global RNG (exact resumption)
        loader = torch.utils.data.DataLoader(
            ds, batch_sampler=sampler, collate_fn=collate, num_workers=t.num_workers,
            generator=torch.Generator().manual_seed(t.seed + epoch),
        )
        t0, frames, padded, lines, loss_sum, n_loss, nonfinite = time.time(), 0, 0, 0, 0.0, 0, 0
        bar = tqdm(loader, total=len(sampler), desc=f"epoch {epoch + 1}", disable=rank != 0 or not sys.stderr.isatty(),
                   mininterval=1 if sys.stderr.isatty() else 60, file=sys.stderr, leave=False)
        batch_idx = start_batch
        for b in bar:
            for g in opt.param_groups:
                g["lr"] = sched.lr(step)
            x, lens = b.feats.to(device, non_blocking=True), b.lengths.to(device)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=t.amp):
                logp, out_lens = net(x, lens)
            loss, bad = ctc_loss(logp, out_lens, b.labels.to(device), b.label_lengths.to(device))
            opt.zero_grad(set_to_none=True)
            (loss / len(b.ids)).backward()
            if t.clip_norm > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t.clip_norm)
            opt.step()
            step += 1
            batch_idx += 1
            nonfinite += bad
            frames += int(b.lengths.sum())
            padded += b.feats.shape[0] * b.feats.shape[1]
            lines += len(b.ids)
            loss_sum += float(loss.detach())
            n_loss += len(b.ids)
            bar.set_postfix(loss=f"{loss_sum / max(1, n_loss):.3f}", refresh=False)
            if t.log_every and step % t.log_every == 0:
                el = time.time() - t0
                log(f"epoch {epoch + 1} step {step} loss {loss_sum / max(1, n_loss):.3f} lr {sched.lr(step):.2e} "
                    f"{frames / el:.0f} frames/s {lines / el:.1f} lines/s")
            if t.checkpoint_every and step % t.checkpoint_every == 0:
                save(epoch, batch_idx, last)
            if max_steps and step >= max_steps:
                break
        bar.close()
        if max_steps and step >= max_steps and batch_idx < start_batch + len(sampler):
            save(epoch, batch_idx, last)  # stopped inside an epoch: resume at the next batch
            break
        el = time.time() - t0
        frames, lines = frames * world, lines * world  # every rank processes its own share
        if nonfinite:
            log(f"warning: {nonfinite} utterances had a non-finite CTC loss this epoch (zeroed)")
        if rank == 0:
            main, words = evaluate(model, valid_utts, cfg, symbols, cmvn, device)
            metric = main.error_rate
        else:
            main = words = None
            metric = 0.0
        if world > 1:
            m = torch.tensor([metric], device=device)
            dist.broadcast(m, 0)
            metric = float(m[0])
        improved = metric < best - 1e-9
        if improved:
            best, bad_epochs = metric, 0
        else:
            bad_epochs += 1
        sched.epoch_end(metric)
        train_loss = loss_sum / max(1, n_loss)
        if rank == 0:
            log(f"epoch {epoch + 1} done in {el:.0f}s: train loss {train_loss:.3f}, valid {unit_name} "
                f"{metric:.2f}" + (f" WER {words.error_rate:.2f}" if words else "") +
                f", {frames / el:.0f} frames/s, {lines / el:.1f} lines/s, padding {100 * (1 - frames / world / max(1, padded)):.1f}%"
                + (" (best)" if improved else ""))
            with open(exp / "metrics.csv", "a", newline="") as f:
                csv.writer(f).writerow([epoch + 1, step, f"{train_loss:.4f}", f"{metric:.3f}",
                                        f"{words.error_rate:.3f}" if words else "", f"{sched.lr(step):.3e}",
                                        f"{el:.1f}", f"{frames / el:.0f}", f"{lines / el:.2f}"])
        epoch, start_batch = epoch + 1, 0
        if bad_epochs >= t.patience:
            log(f"early stop: no improvement for {t.patience} epochs")
            stop = True
        if max_steps and step >= max_steps:
            stop = True
        save(epoch, 0, last)
        if improved and rank == 0:
            atomic_save(load_file(last), exp / "best.pt")
        if t.keep_epochs > 0 and rank == 0:
            keep_epoch_weights(exp, epoch, t.keep_epochs)
    if world > 1:
        dist.barrier()
    if own_group:
        # torn down here, not at interpreter exit: a gloo group left to the exit handlers can
        # abort a rank ("terminate called without an active exception") after training is done
        dist.destroy_process_group()
    return exp / "best.pt"
