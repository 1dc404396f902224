"""Dataset loaders: TensorFlow Datasets by default, local files by flag."""

from tf_lstm.data.counting import counting_data
from tf_lstm.data.digits import load_digits
from tf_lstm.data.mnist import load_mnist
from tf_lstm.data.split import Split
from tf_lstm.data.transforms import black_out_rows, rotate90

__all__ = ["Split", "black_out_rows", "counting_data", "load_digits", "load_mnist", "rotate90"]
