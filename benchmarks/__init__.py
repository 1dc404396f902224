"""Side-by-side speed runs: tf_lstm against keras.layers.LSTM (and torch.nn.LSTM)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
