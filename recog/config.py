"""Typed configuration: dataclasses, loaded from YAML with ``a.b=value`` overrides.

Unknown keys are errors (a typo in a config must not silently fall back to a default). The
resolved configuration is written next to every experiment as ``config.yaml``.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, get_args, get_origin, get_type_hints

import yaml


class ConfigError(ValueError):
    pass


@dataclass
class ImageFeatures:
    height: int = 64               # lines are scaled to this height, aspect ratio kept (frames: rows: this width)
    dewarp: bool = False           # straighten the line about its centre line, crop to the writing (OCRopus)
    deslant: bool = False          # shear-based slant correction (Vinciarelli & Luettin)
    contrast: bool = True          # stretch grey levels (2nd..90th percentile)
    fill_mask: bool = True         # paint the white outside a line's crop polygon in the paper's tone
    invert: bool = True            # ink -> 1.0, paper -> 0.0
    pad: int = 4                   # white columns added left and right (rows: above and below)
    frames: str = "columns"        # columns: each column is a frame, the image scaled to `height` rows (lines);
                                   # rows: each row is a frame, the image scaled to `height` columns (none when
                                   # it is that wide: seqMNIST reads a 28x28 digit as 28 frames of 28 pixels)


@dataclass
class AudioFeatures:
    sample_rate: int = 16000
    kind: str = "fbank"            # fbank | mfcc
    num_mel_bins: int = 40
    num_ceps: int = 13             # mfcc only
    energy: bool = True            # append log energy
    deltas: int = 2                # 0, 1 (Δ) or 2 (Δ+ΔΔ)
    frame_length_ms: float = 25.0
    frame_shift_ms: float = 10.0
    dither: float = 0.0


@dataclass
class VectorFeatures:
    dim: int = 1                   # values per frame of precomputed features: .npy files of (frames, dim)


@dataclass
class FeatureConfig:
    modality: str = "image"        # image | audio | vector (precomputed: the record's .npy as it is)
    cmvn: bool | str = "none"      # none | global (training statistics) | utterance | speaker (each speaker's
                                   # statistics in the data at hand) | running (frames so far:
                                   # streams exactly, features/cmvn.py); true = global
    cmvn_prior: int = 0            # running: the training set's global statistics (cmvn.pt) count as this many
                                   # frames before the first (online CMVN with a prior); 0: none
    image: ImageFeatures = field(default_factory=ImageFeatures)
    audio: AudioFeatures = field(default_factory=AudioFeatures)
    vector: VectorFeatures = field(default_factory=VectorFeatures)

    def __post_init__(self):
        # models and configs written before the modes existed say true/false
        if isinstance(self.cmvn, bool) or self.cmvn is None:
            self.cmvn = "global" if self.cmvn else "none"


@dataclass
class ModelConfig:
    frontend: str = "cnn"          # cnn (images) | stack (audio frame stacking)
    cnn_channels: list[int] = field(default_factory=lambda: [16, 32, 48, 64])
    cnn_pool: list[list[int]] = field(default_factory=lambda: [[2, 2], [2, 2], [2, 1], [2, 1]])
    cnn_dropout: float = 0.0
    cnn_residual: list[int] = field(default_factory=list)  # residual blocks after each CNN block ([] = none)
    stack: int = 1                 # audio: concatenate this many frames ...
    subsample: int = 1             # ... and keep every n-th stacked frame
    cell: str = "lstm"             # lstm | gru | rnn (torch's fused kernels) | peephole_lstm (vanilla LSTM of Greff
                                   # et al. 2016) | its variants lstm_nig | lstm_nfg | lstm_nog | lstm_niaf |
                                   # lstm_noaf | lstm_np | lstm_cifg | lstm_fgr (models/lstm_variants.py) | mlp
                                   # (not recurrent: tanh layers over a window of frames, models/mlp.py)
    context: int = 0               # mlp: frames each side of the frame its first layer reads
    hidden: int = 256
    layers: int = 3
    bidirectional: bool = True
    dropout: float = 0.5           # between recurrent layers and before the output layer
    output: str = "ctc"            # ctc (transcripts) | label (one class per sequence) | frame (one per frame)
                                   # | regression (real-valued targets; see regression)
    pool: str = "last"             # label and sequence regression: last (forward's last valid step + backward's
                                   # first, MATLAB's "last") | mean (average of the valid steps)
    regression: str = "sequence"   # regression targets per sequence (manifest "target") or per frame ("frame_targets")
    chunk: int = 0                 # > 0: latency-controlled BLSTM (models/latency.py): chunks of this many frames
                                   # (after the front end), the forward state carried; in training and streaming
    right_context: int = 0         # ... and the backward direction reads this many frames past each chunk
    init: str = "torch"            # torch (PyTorch's defaults) | keras (Glorot input, orthogonal recurrent weights,
                                   # LSTM forget-gate bias 1: models/init.py)


@dataclass
class DataConfig:
    """How utterances become padded batches (MATLAB's SequenceLength, SequencePaddingDirection,
    SequencePaddingValue and length sorting).  The encoder masks by lengths, so no choice here
    changes what a model computes on a sequence's valid frames; see the README's "Other outputs
    and batching"."""
    sequence_length: int | str = "longest"  # longest (pad to the batch's longest) | shortest (training only:
                                   # cut every sequence to the batch's shortest; not for ctc) | N (run the
                                   # encoder on chunks of N frames; unidirectional: state carried, truncated BPTT)
    padding_direction: str = "right"  # right | left
    padding_value: float = 0.0     # what the padded frames hold (never read by the model)
    sort_by_length: bool = True    # training batches of similar length (bucketed); false: plain shuffled batches

    def __post_init__(self):
        n = self.sequence_length
        if isinstance(n, str) and n.strip().isdigit():
            self.sequence_length = n = int(n)
        if isinstance(n, bool) or not (n in ("longest", "shortest") or (isinstance(n, int) and n >= 1)):
            raise ConfigError(f"data.sequence_length: {n!r} is not longest, shortest or a whole number >= 1")
        if not math.isfinite(self.padding_value):  # padded frames run through the network: NaN would reach gradients
            raise ConfigError(f"data.padding_value: {self.padding_value!r} is not a finite number")


@dataclass
class TrainConfig:
    epochs: int = 30
    batch_size: int = 16
    max_frames: int = 0            # if > 0, batches hold at most this many padded input frames
    optimizer: str = "adam"        # adam | rmsprop | sgd
    lr: float = 1e-3
    weight_decay: float = 0.0
    momentum: float = 0.9          # sgd
    schedule: str = "plateau"      # plateau | cosine | constant
    lr_factor: float = 0.5         # plateau: multiply by this ...
    lr_patience: int = 2           # ... after this many epochs without improvement
    warmup_steps: int = 0
    min_lr: float = 1e-5
    clip_norm: float = 5.0
    patience: int = 8              # early stopping: epochs without dev improvement
    seed: int = 1
    num_workers: int = 0
    checkpoint_every: int = 0      # also checkpoint every N steps inside an epoch (0: epoch ends only)
    keep_epochs: int = 0           # also keep the weights of the last N epochs (epoch<N>.pt) to average
    augment: bool = False          # images: random distortions on the fly (training only)
    writer_style: bool = False     # with augment: also wobble, margins, ink/paper texture, blur, JPEG
    spec_augment: bool = False     # audio: SpecAugment frequency and time masks (training only)
    freq_masks: int = 2            # ... number of frequency masks,
    freq_width: int = 8            # ... each up to this many mel bins wide,
    time_masks: int = 2            # ... number of time masks,
    time_width: int = 40           # ... each up to this many frames (and 20% of the utterance)
    threads: int = 0               # torch.set_num_threads; 0 leaves the default
    device: str = "auto"           # auto (cuda if present) | cpu | cuda
    amp: bool = False              # bf16 autocast (CUDA; on a CPU with AVX512-BF16/AMX 1.3-2.2x faster)
    log_every: int = 50


@dataclass
class DecodeConfig:
    method: str = "greedy"         # greedy | beam
    beam: int = 10


@dataclass
class Config:
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def dump(self, path: str | Path) -> None:
        Path(path).write_text(yaml.safe_dump(self.to_dict(), sort_keys=False))

    @classmethod
    def from_dict(cls, d: dict | None) -> "Config":
        return _build(cls, d or {}, "")

    @classmethod
    def load(cls, path: str | Path | None = None, overrides: list[str] | None = None) -> "Config":
        d: dict = {}
        if path is not None:
            try:
                d = yaml.safe_load(Path(path).read_text()) or {}
            except yaml.YAMLError as e:
                raise ConfigError(f"{path}: not valid YAML: {e}") from None
            if not isinstance(d, dict):
                raise ConfigError(f"{path}: top level must be a mapping")
        try:
            base = cls.from_dict(d)
        except ConfigError as e:
            raise ConfigError(f"{path or 'config'}: {e}") from None
        for ov in overrides or []:
            check_override_key(cls, ov)
            apply_override(d, ov)
        try:
            return cls.from_dict(d) if overrides else base
        except ConfigError as e:
            raise ConfigError(f"command line override: {e}") from None


def known_keys(cls, prefix: str = "") -> list[str]:
    """Every dotted key of a config class (``train.lr``, ``features.audio.kind`` ...)."""
    out = []
    hints = get_type_hints(cls)
    for f in fields(cls):
        key = f"{prefix}{f.name}"
        out += known_keys(hints[f.name], key + ".") if is_dataclass(hints[f.name]) else [key]
    return out


def check_override_key(cls, override: str) -> None:
    """A command-line ``key=value`` must name a known key: ConfigError with the nearest one."""
    import difflib

    key = override.split("=", 1)[0].strip()
    if "=" not in override:
        raise ConfigError(f"command line override {override!r} must look like key.sub=value")
    keys = known_keys(cls)
    if key in keys or any(k.startswith(key + ".") for k in keys):
        return
    close = difflib.get_close_matches(key, keys, n=1, cutoff=0.6)
    raise ConfigError(f"command line override {override!r}: unknown key {key}"
                      + (f"; did you mean {close[0]}?" if close else ""))


def apply_override(d: dict, override: str) -> None:
    """Apply ``a.b.c=value`` (value parsed as YAML) to a nested dict in place."""
    if "=" not in override:
        raise ConfigError(f"override {override!r} must look like key.sub=value")
    key, val = override.split("=", 1)
    parts = key.strip().split(".")
    cur = d
    for p in parts[:-1]:
        nxt = cur.setdefault(p, {})
        if not isinstance(nxt, dict):
            raise ConfigError(f"override {override!r}: {p} is not a section")
        cur = nxt
    cur[parts[-1]] = yaml.safe_load(val)


def _coerce(tp: Any, value: Any, where: str) -> Any:
    origin = get_origin(tp)
    if is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{where}: expected a mapping")
        return _build(tp, value, where)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        (inner,) = get_args(tp) or (Any,)
        return [_coerce(inner, v, f"{where}[{i}]") for i, v in enumerate(value)]
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{where}: expected true/false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, str):
            # YAML 1.1 (PyYAML) reads exponent forms without a dot, such as 3e-4, as strings
            try:
                value = float(value)
            except ValueError:
                raise ConfigError(f"{where}: expected a number, got {value!r}") from None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    return value


def _build(cls, d: dict, prefix: str):
    hints = get_type_hints(cls)
    names = {f.name for f in fields(cls)}
    unknown = sorted(set(d) - names)
    if unknown:
        where = prefix or "top level"
        raise ConfigError(f"unknown key(s) {', '.join(unknown)} in {where}; known: {', '.join(sorted(names))}")
    kwargs = {}
    for k, v in d.items():
        kwargs[k] = _coerce(hints[k], v, f"{prefix}.{k}" if prefix else k)
    obj = cls(**kwargs)
    _validate(obj, prefix)
    return obj


_CHOICES = {
    ("FeatureConfig", "modality"): ("image", "audio", "vector"),
    ("FeatureConfig", "cmvn"): ("none", "global", "utterance", "speaker", "running"),
    ("AudioFeatures", "kind"): ("fbank", "mfcc"),
    ("ImageFeatures", "frames"): ("columns", "rows"),
    ("ModelConfig", "frontend"): ("cnn", "stack", "none"),
    ("ModelConfig", "cell"): ("lstm", "peephole_lstm", "gru", "rnn", "lstm_nig", "lstm_nfg", "lstm_nog", "lstm_niaf",
                              "lstm_noaf", "lstm_np", "lstm_cifg", "lstm_fgr", "mlp"),
    ("ModelConfig", "output"): ("ctc", "label", "frame", "regression"),
    ("ModelConfig", "pool"): ("last", "mean"),
    ("ModelConfig", "regression"): ("sequence", "frame"),
    ("ModelConfig", "init"): ("torch", "keras"),
    ("DataConfig", "padding_direction"): ("right", "left"),
    ("TrainConfig", "optimizer"): ("adam", "rmsprop", "sgd"),
    ("TrainConfig", "schedule"): ("plateau", "cosine", "constant"),
    ("DecodeConfig", "method"): ("greedy", "beam"),
}


def _validate(obj, prefix: str) -> None:
    for (cls_name, attr), choices in _CHOICES.items():
        if type(obj).__name__ == cls_name and getattr(obj, attr) not in choices:
            where = f"{prefix}.{attr}" if prefix else attr
            raise ConfigError(f"{where}: {getattr(obj, attr)!r} is not one of {', '.join(choices)}")
    if isinstance(obj, Config):
        _check_latency(obj)
        if obj.features.cmvn_prior < 0 or (obj.features.cmvn_prior and obj.features.cmvn != "running"):
            raise ConfigError("features.cmvn_prior (frames >= 0) is the prior of features.cmvn=running")
        if obj.train.writer_style and not obj.train.augment:
            raise ConfigError("train.writer_style adds to train.augment's distortions: set train.augment=true too")
    if isinstance(obj, Config) and obj.data.sequence_length == "shortest" and obj.model.output == "ctc":
        # a transcript cannot be cut with its frames (which symbols fall in the cut-off part is unknown)
        raise ConfigError("data.sequence_length=shortest cuts frames off the sequences, which CTC transcripts "
                          "cannot follow; use it with model.output label, frame or regression")


def _check_latency(cfg: Config) -> None:
    """model.chunk / model.right_context: whole numbers, for a bidirectional encoder, not mixed
    with data.sequence_length N (which runs a BLSTM's chunks without state or context)."""
    m = cfg.model
    if m.chunk < 0 or m.right_context < 0:
        raise ConfigError("model.chunk and model.right_context are frame counts >= 0")
    if m.right_context and not m.chunk:
        raise ConfigError("model.right_context needs model.chunk > 0 (latency-controlled BLSTM)")
    if m.chunk and not m.bidirectional:
        raise ConfigError("model.chunk is for bidirectional encoders (latency-controlled BLSTM); a unidirectional "
                          "one streams exactly as it is")
    if m.chunk and isinstance(cfg.data.sequence_length, int):
        raise ConfigError("model.chunk (latency-controlled BLSTM) and data.sequence_length N (independent chunks) "
                          "both cut sequences into chunks: use one")
