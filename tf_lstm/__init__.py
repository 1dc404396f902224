"""tf_lstm: the LSTM written from scratch with `tf.scan`, checked against the articles."""

from tf_lstm.cells import Cell, LinearRNNCell, LSTMCell, StepInputs
from tf_lstm.export import export_onnx, export_saved_model
from tf_lstm.gates import canonical_gate_order, convert_gate_order
from tf_lstm.inside import inside_page, read_inside_page
from tf_lstm.interop import (
    from_keras,
    from_keras_layer,
    from_torch,
    load_keras_lstm_weights,
    load_tf1_lstm_checkpoint,
    load_torch_state_dict,
    to_torch,
    to_torch_state_dict,
)
from tf_lstm.layers import Recurrent, ScanLSTM, ScanRNN
from tf_lstm.multilayer import MultiLayerLSTM
from tf_lstm.optimizers import ArticleRMSProp
from tf_lstm.pooling import LastStep, MaskedMean
from tf_lstm.scan import scan_rnn
from tf_lstm.steps import linear_rnn_step, lstm_gates, lstm_step
from tf_lstm.tflite import TFLiteModel, export_tflite
from tf_lstm.tracing import gradients_through_time, saturation, trace

__version__ = "0.1.0"

__all__ = [
    "ArticleRMSProp",
    "Cell",
    "LSTMCell",
    "LastStep",
    "LinearRNNCell",
    "MaskedMean",
    "MultiLayerLSTM",
    "Recurrent",
    "ScanLSTM",
    "ScanRNN",
    "StepInputs",
    "TFLiteModel",
    "canonical_gate_order",
    "convert_gate_order",
    "export_onnx",
    "export_saved_model",
    "export_tflite",
    "from_keras",
    "from_keras_layer",
    "from_torch",
    "gradients_through_time",
    "inside_page",
    "linear_rnn_step",
    "load_keras_lstm_weights",
    "load_tf1_lstm_checkpoint",
    "load_torch_state_dict",
    "lstm_gates",
    "lstm_step",
    "read_inside_page",
    "saturation",
    "scan_rnn",
    "to_torch",
    "to_torch_state_dict",
    "trace",
]


def __getattr__(name: str):
    """Earlier names, kept working with a `DeprecationWarning` (CHANGELOG.md lists them)."""
    if name == "StepWeights":
        from tf_lstm import cells

        return cells.__getattr__(name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
