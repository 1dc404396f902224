"""One script per article, each checking its results against `documented.py`."""

import os

# TensorFlow's C++ start-up chatter hides the reproductions' own log lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
