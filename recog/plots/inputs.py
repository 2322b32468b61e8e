"""One input through a packaged model, and its features drawn on the model's output frame axis.

Both the posteriorgram and the activation plot show the input above what the model made of it;
the input frames are stretched onto the output frames (the front end subsamples: 2 for stacked
audio frames, the product of the width poolings for the CNN), so a phone or a letter sits above
its posteriors.
"""

from __future__ import annotations

from pathlib import Path

import torch


def model_input(model: str | Path, path: str | Path):
    """(Transcriber, normalised features (T, D)) of one image or audio file."""
    from ..features import modality_of
    from ..infer import Transcriber

    tr = Transcriber(model)
    kind = modality_of(path)
    if kind != tr.modality:
        raise ValueError(f"{path}: {'not an image or audio file' if kind is None else f'an {kind} file'}, "
                         f"but the model reads {tr.modality}")
    return tr, tr.features(path)


def log_probs(tr, feats: torch.Tensor) -> torch.Tensor:
    """(T', V) log-probabilities of one input's features."""
    from ..data import Example

    return tr.log_probs([Example("input", feats, [], "")])[0]


def subsampling(tr) -> float:
    """Input frames per output frame of the model's front end."""
    return 1000 / max(1, int(tr.recogniser.model.output_lengths(torch.tensor([1000]))[0]))


def draw_features(ax, tr, feats: torch.Tensor) -> None:
    """The input on the output frame axis: the line image (ink dark), or the static log-mel or
    cepstral coefficients of the audio (deltas left out), low frequencies at the bottom."""
    f = feats.numpy()
    right = f.shape[0] / subsampling(tr) - 0.5
    if tr.modality == "image":
        ax.imshow(f.T, cmap="gray_r", aspect="auto", interpolation="nearest",
                  extent=(-0.5, right, f.shape[1], 0))
        ax.set_ylabel("line")
    else:
        a = tr.cfg.features.audio
        n = a.num_mel_bins if a.kind == "fbank" else a.num_ceps
        ax.imshow(f[:, :n].T, cmap="viridis", aspect="auto", interpolation="nearest", origin="lower",
                  extent=(-0.5, right, 0, n))
        ax.set_ylabel("mel bin" if a.kind == "fbank" else "cepstrum")
    ax.set_yticks([])
    ax.tick_params(labelbottom=False)


def frame_label(tr) -> str:
    if tr.modality == "audio":
        return f"output frame ({1000 * tr.frame_shift:.0f} ms)"
    return f"output frame ({subsampling(tr):.0f} image columns)"
