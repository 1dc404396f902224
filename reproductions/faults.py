"""Faults that arrive during a run, each turned into one line and a clear next step.

- A write that fails (a full disk, no permission, a read-only file system, a
  name too long): `writing` turns the OS's error, or TensorFlow's report of it,
  into a `WriteError` naming the path and the OS's reason (exit status 2).
- An interrupt (Ctrl-C, SIGTERM): `handle_signals` makes both an `Interrupted`
  (exit status 130 / 143). Inside `training_steps` the signal is held until the
  step ends (`step_done`), so the checkpoint the loop saves is whole and a
  rerun resumes from it.
- A loss that turns NaN or Inf: `is_finite` is the test each training loop
  makes after every step; the loop then stops that run and the report says
  ``diverged at step N (loss nan)``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import math
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# The OS's reasons a write fails for the user to fix (not a bug of ours).
WRITE_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EROFS, errno.ENAMETOOLONG, errno.EFBIG)


class WriteError(Exception):
    """A file or folder could not be written; the message names it and the OS's reason."""

    def __init__(self, path: str | os.PathLike, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"cannot write {path}: {reason}")


def write_failure_reason(error: BaseException) -> str | None:
    """The OS's reason when `error` is a failed write (an OSError, or TensorFlow's error quoting it), else None."""
    if isinstance(error, OSError) and error.errno in WRITE_ERRNOS:
        return error.strerror or os.strerror(error.errno)
    tf = sys.modules.get("tensorflow")
    if tf is not None and isinstance(error, tf.errors.OpError):
        for code in WRITE_ERRNOS:
            if os.strerror(code) in error.message:
                return os.strerror(code)
    return None


@contextlib.contextmanager
def writing(path: str | os.PathLike) -> Iterator[None]:
    """Turns a failed write inside the block into a `WriteError` naming `path` (what the user asked for)."""
    try:
        yield
    except WriteError:
        raise
    except Exception as error:
        reason = write_failure_reason(error)
        if reason is None:
            raise
        raise WriteError(path, reason) from error


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: a BaseException, so that no ``except Exception`` takes it for a failed figure."""

    def __init__(self, signum: int, step: int | None = None, resumable: bool = False):
        self.signum, self.step, self.resumable = signum, step, resumable
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_status(self) -> int:
        return 128 + self.signum

    def line(self) -> str:
        after = f" after step {self.step}" if self.step is not None else ""
        next_step = "rerun the same command to resume" if self.resumable else "rerun the same command to start again"
        return f"interrupted{after}; {next_step}"


class _Signals:
    """What the handler knows: whether a training step is under way, and a signal held until it ends."""

    holding = False
    pending: int | None = None
    step: int | None = None
    resumable = False


def _handler(signum: int, frame: Any) -> None:
    del frame
    if _Signals.holding:
        _Signals.pending = signum
        return
    raise Interrupted(signum, _Signals.step, _Signals.resumable)


def handle_signals() -> None:
    """Makes SIGINT and SIGTERM raise `Interrupted` (held while a training step runs)."""
    signal.signal(signal.SIGINT, _handler)
    signal.signal(signal.SIGTERM, _handler)


@contextlib.contextmanager
def training_steps(resumable: bool) -> Iterator[None]:
    """Inside: a signal waits for the running step to end (see `step_done`); `resumable`: a rerun resumes."""
    _Signals.holding, _Signals.pending, _Signals.step, _Signals.resumable = True, None, None, resumable
    try:
        yield
    finally:
        _Signals.holding = False
        pending, _Signals.pending = _Signals.pending, None
    if pending is not None:  # arrived after the last step_done
        raise Interrupted(pending, _Signals.step, resumable)


def step_done(step: int) -> None:
    """Call after each step (and its checkpoint): raises `Interrupted` if a signal came during it."""
    _Signals.step = step
    if _Signals.pending is not None:
        signum, _Signals.pending = _Signals.pending, None
        _Signals.holding = False
        raise Interrupted(signum, step, _Signals.resumable)


def is_finite(loss: Any) -> bool:
    """Whether a loss (a number, a NumPy or TensorFlow scalar) is finite."""
    return math.isfinite(float(loss))


@dataclasses.dataclass(frozen=True)
class Diverged:
    """A training run that stopped at `step`, where its loss turned NaN or Inf: what every training function
    returns instead of its result then, and what `reproductions.report.Report.diverged` fails the report with."""

    step: int
    loss: float

    def line(self) -> str:
        return f"diverged at step {self.step} (loss {float(self.loss)})"


def remove_partial_checkpoint(directory: Path, prefix: str) -> None:
    """Deletes what a failed `CheckpointManager.save` left of checkpoint `prefix` in `directory` (ours)."""
    import shutil

    for path in directory.glob(f"{prefix}*"):
        if path.name.startswith((f"{prefix}.", f"{prefix}_temp")):
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)


def keras_guard():
    """A Keras callback for `fit`: stops where the loss turns NaN or Inf (``.diverged``, a `Diverged`), and
    ends the fit after the running batch on Ctrl-C or SIGTERM (inside `training_steps`)."""
    import keras

    class KerasGuard(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.steps, self.diverged = 0, None  # a Diverged once the loss turns NaN or Inf

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            loss = (logs or {}).get("loss")
            if loss is not None and not is_finite(loss):
                self.diverged = Diverged(self.steps, float(loss))
                self.model.stop_training = True
            step_done(self.steps)

    return KerasGuard()


_held: dict[str, int] = {}  # path -> the open, flock-ed lock file: held until the process exits


def hold(path: str | os.PathLike, flag: str) -> None:
    """Claims `path` (a run folder, an export) for this process; another run holding it: `InUse` naming both.

    The lock is an `flock` on a file named after the path's hash in the
    system's temporary folder, so nothing is written beside the user's
    files, and the OS releases it when the process ends, however it ends.
    """
    import fcntl
    import hashlib
    import tempfile

    resolved = str(Path(path).expanduser().absolute().resolve())
    if resolved in _held:
        return
    locks = Path(tempfile.gettempdir()) / "tf_lstm_locks"
    locks.mkdir(mode=0o1777, exist_ok=True)
    lock = locks / f"{hashlib.sha256(resolved.encode()).hexdigest()[:24]}.lock"
    fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        owner = os.read(fd, 64).decode(errors="replace").strip() or "?"
        os.close(fd)
        raise InUse(
            f"{flag}: {resolved} is in use by another tf_lstm run (process {owner}); wait for it to end, "
            f"or pass another {flag}"
        ) from None
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    _held[resolved] = fd


class InUse(Exception):
    """A folder another run is writing to: exit status 2, as bad input."""
