"""How every command starts: TensorFlow imported without its C++ start-up notices, unless asked for.

A leaf module with no flags, so that any command (the reproductions, the
runner, ``tf-lstm inspect``, the benchmarks) can import it before TensorFlow.
"""

from __future__ import annotations

import os
import sys


def import_tensorflow_quietly(verbose: bool = False) -> None:
    """Imports TensorFlow with its C++ start-up lines (CUDA probing, oneDNN, CPU features) kept off stderr, unless
    `verbose`.

    Those lines are written before TensorFlow's logging can be configured, so
    stderr itself is pointed at /dev/null during the import; it is restored
    before anything is raised, so a failed import still shows its traceback.
    `TF_CPP_MIN_LOG_LEVEL` (2 unless set) keeps the lines TensorFlow's C++
    code writes later, at its first operation, off too.
    """
    if verbose or "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved, devnull = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
