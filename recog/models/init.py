"""Weight initialisation schemes (``model.init``).

``torch`` (the default) leaves every layer as PyTorch builds it: all recurrent weights and biases
uniform in ±1/√H, so an LSTM's forget gate starts half open.  ``keras`` is what Keras's recurrent
layers and ``Dense`` start from, for comparisons run on Keras's terms (the seqMNIST table):

* input kernels ``W_x`` Glorot-uniform over the whole gate-stacked matrix:
  U(−a, a) with a = √(6 / (fan_in + fan_out)), fan_in = D, fan_out = G·H (G gates);
* recurrent kernels ``W_h`` orthogonal (Saxe et al. 2014) over the whole (G·H, H) matrix;
* biases 0, except an LSTM's forget gate at 1 (``unit_forget_bias``, Jozefowicz et al. 2015), so
  that the cell keeps its memory at the start instead of halving it every step;
* the output layer Glorot-uniform, bias 0.

Torch's fused cells carry two bias vectors (input and recurrent); the forget-gate 1 goes in the
first, so their sum is Keras's single bias.  The hand-written cells (``peephole_lstm`` and Greff's
variants) have their own initialisation (forget bias 1 already) and are left as they are.
"""

from __future__ import annotations

from torch import nn

def keras_init(model: nn.Module) -> None:
    """Re-initialise ``model``'s fused recurrent layers and linear layers as Keras would."""
    for module in model.modules():
        if isinstance(module, (nn.LSTM, nn.GRU, nn.RNN)):
            _keras_recurrent(module)
        elif isinstance(module, nn.Linear):
            nn.init.xavier_uniform_(module.weight)
            if module.bias is not None:
                nn.init.zeros_(module.bias)


def _keras_recurrent(rnn: nn.RNNBase) -> None:
    h = rnn.hidden_size
    for name, p in rnn.named_parameters():
        if name.startswith("weight_ih"):
            nn.init.xavier_uniform_(p)   # torch's (G·H, D): fan_in D, fan_out G·H, as Keras's (D, G·H)
        elif name.startswith("weight_hh"):
            nn.init.orthogonal_(p)
        elif name.startswith("bias"):
            nn.init.zeros_(p)
            if isinstance(rnn, nn.LSTM) and name.startswith("bias_ih"):
                p.data[h:2 * h] = 1.0    # gates in torch's order i, f, g, o: the forget gate's bias


def initialise(model: nn.Module, scheme: str) -> None:
    """``scheme`` as ``model.init`` (the config has checked it): torch changes nothing."""
    if scheme == "keras":
        keras_init(model)
