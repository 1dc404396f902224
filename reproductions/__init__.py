"""One script per article, each checking its results against `documented.py`.

TensorFlow, Keras, tf_lstm and matplotlib are imported inside the functions
that use them, not at the top of the scripts: importing TensorFlow takes about
6 s, and a bad flag or ``--help`` answers before that (flag validators run at
parsing; `tests/test_cli_bad_input.py` holds them to under 5 s). Everything
else is imported at the top.
"""

import os

# TensorFlow's C++ start-up chatter hides the reproductions' own log lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
