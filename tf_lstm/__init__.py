"""tf_lstm: the LSTM written from scratch with `tf.scan`, checked against the articles."""

from tf_lstm.gates import canonical_gate_order, convert_gate_order
from tf_lstm.layers import ScanLSTM, ScanRNN
from tf_lstm.multilayer import MultiLayerLSTM
from tf_lstm.pooling import MaskedMean
from tf_lstm.scan import scan_rnn
from tf_lstm.steps import linear_rnn_step, lstm_step

__version__ = "0.1.0"

__all__ = [
    "MaskedMean",
    "MultiLayerLSTM",
    "ScanLSTM",
    "ScanRNN",
    "canonical_gate_order",
    "convert_gate_order",
    "linear_rnn_step",
    "lstm_step",
    "scan_rnn",
]
