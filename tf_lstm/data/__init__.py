"""Dataset loaders: TensorFlow Datasets by default, local files by flag."""

from tf_lstm.data.counting import counting_data
from tf_lstm.data.digits import load_digits

__all__ = ["counting_data", "load_digits"]
