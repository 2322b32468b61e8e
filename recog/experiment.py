"""The experiment folder and the run's control: its lock, its log, the symbol table it trains on,
the check that a resumed run is the run that was started, and stopping on SIGINT/SIGTERM at a step
boundary."""

from __future__ import annotations

import signal
import time
from pathlib import Path

from .config import Config
from .tokens import SymbolTable


def find_tokens(train_manifest: str | Path, tokens: str | Path | None = None) -> Path:
    """The symbol table: ``tokens``, or where ``recog train`` looks without ``--tokens``: the
    training folder, its parent (``data/tokens.txt`` for ``data/train``), then the recipes' layout
    (``data/tokens.txt`` beside ``feats/`` for ``feats/train``).  FileNotFoundError names them all."""
    if tokens:
        if not Path(tokens).is_file():
            raise FileNotFoundError(f"{tokens}: symbol table not found")
        return Path(tokens)
    p = Path(train_manifest)
    folder = p if p.is_dir() else p.parent
    tried = [folder / "tokens.txt", folder.parent / "tokens.txt", folder.parent.parent / "data" / "tokens.txt"]
    for t in tried:
        if t.is_file():
            return t
    raise FileNotFoundError(f"no symbol table: looked for {', '.join(map(str, tried))}; pass --tokens")


class ExperimentBusy(RuntimeError):
    """Another training run holds the experiment folder."""


class TrainingInterrupted(Exception):
    """SIGINT or SIGTERM stopped training after a checkpoint; ``exit_code`` is 128 + signal."""

    def __init__(self, signum: int, message: str):
        super().__init__(message)
        self.exit_code = 128 + signum


# settings a resumed run may change: how long and how it runs, not what it trains
RESUMABLE_KEYS = {"train.epochs", "train.patience", "train.threads", "train.num_workers", "train.log_every",
                  "train.checkpoint_every", "train.keep_epochs", "train.device"}


def _flatten(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        out.update(_flatten(v, key + ".") if isinstance(v, dict) else {key: v})
    return out


def config_drift(saved: dict, cfg: Config) -> list[str]:
    """``key: was X, now Y`` for each setting that differs between a checkpoint and ``cfg``
    (those in ``RESUMABLE_KEYS`` may differ)."""
    a, b = _flatten(Config.from_dict(saved).to_dict()), _flatten(cfg.to_dict())
    return [f"{k}: was {a.get(k)!r}, now {b.get(k)!r}" for k in sorted(set(a) | set(b))
            if k not in RESUMABLE_KEYS and a.get(k) != b.get(k)]


def check_resume(ck: dict, cfg: Config, symbols: SymbolTable, path: Path) -> None:
    """Refuse to resume ``path`` with another config or symbol table than it was started with."""
    diffs = config_drift(ck["config"], cfg)
    if list(ck["symbols"]) != list(symbols.symbols):
        diffs.append(f"symbol table: {len(ck['symbols'])} symbols in the checkpoint, {len(symbols)} in --tokens")
    if diffs:
        raise ValueError(
            f"{path}: this experiment was started with other settings, so it cannot resume:\n  "
            + "\n  ".join(diffs)
            + f"\nrerun with the original settings (see {path.parent / 'config.yaml'}), or start afresh: "
            "--restart (overwrites this experiment) or a new --exp folder")


def lock_experiment(exp: Path):
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


class StopSignals:
    """While active, SIGINT and SIGTERM only set ``received``: the loop stops at a step boundary.
    A second signal of either kind stops at once (the default behaviour)."""

    def __init__(self):
        self.received = 0
        self._old: dict = {}

    def _handle(self, signum, frame):
        if self.received:
            self.__exit__()
            signal.raise_signal(signum)
        self.received = signum

    def __enter__(self):
        import threading

        if threading.current_thread() is threading.main_thread():
            for s in (signal.SIGINT, signal.SIGTERM):
                self._old[s] = signal.signal(s, self._handle)
        return self

    def __exit__(self, *exc):
        for s, h in self._old.items():
            signal.signal(s, h)
        self._old = {}
