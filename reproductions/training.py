"""What a training reproduction needs beyond Keras' `fit`: a batch order that survives restarts,
checkpoints with their log, and a checkpoint folder claimed by one set of settings.

Used by `reproductions.mnist_lstm`; any script with its own training loop can
use them (a trainer object with ``.checkpoint`` and ``.steps_done``).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np

from reproductions import cli, faults
from reproductions.report import write_atomically


class BatchOrder:
    """TF1's ``mnist.train.next_batch``: a fresh permutation each epoch, whole batches only.

    The permutation of epoch e is drawn from ``(seed, e)`` alone, so the batch
    of any step can be found again after a restart.
    """

    def __init__(self, size: int, batch_size: int, seed: int):
        if batch_size > size:
            raise ValueError(f"batch_size={batch_size} is larger than the {size} training examples.")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.per_epoch = size // batch_size
        self._epoch: int | None = None
        self._order: np.ndarray = np.arange(size)

    def __call__(self, step: int):
        """Indices of the images of training step `step` (1-based)."""

        epoch, position = divmod(step - 1, self.per_epoch)
        if epoch != self._epoch:
            self._epoch, self._order = epoch, np.random.default_rng([self.seed, epoch]).permutation(self.size)
        return self._order[position * self.batch_size : (position + 1) * self.batch_size]


class Progress:
    """Checkpoints of one training run: `tf.train.CheckpointManager` plus the log so far.

    ``progress.json`` (written aside, then renamed) lists the kept
    checkpoints, newest first, each with the log up to it, so a run killed
    between the two writes resumes from the one before, and so does a run
    whose newest checkpoint file was damaged or lost.
    """

    def __init__(self, directory: Path, trainer, every: int):
        """`trainer` holds a `tf.train.Checkpoint` (``.checkpoint``) and a step counter (``.steps_done``)."""
        import tensorflow as tf

        self.directory, self.every = Path(directory), every
        self.manager = tf.train.CheckpointManager(trainer.checkpoint, str(self.directory), max_to_keep=2)
        self.trainer = trainer
        self._kept_states: list[dict] = []

    def _kept(self) -> list[dict]:
        """The entries of ``progress.json``, newest first ([] when there is none); unreadable: a UsageError."""
        progress = self.directory / "progress.json"
        if not progress.exists():
            return []
        try:
            state = json.loads(progress.read_text())
            return state.get("kept", [state])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise cli.UsageError(
                f"{progress} cannot be read ({type(error).__name__}: {error}); "
                f"delete the folder {self.directory} to start this run afresh, or pass another --output_dir."
            ) from error

    def restore(self):
        """``(log, answers)`` of the newest readable checkpoint, the trainer restored to it; empty when none was made.

        A checkpoint that cannot be read (a damaged or missing file) is passed
        over for the one before, saying so; with none left, a UsageError names
        the folder and how to start afresh.
        """
        kept = self._kept()
        problems = []
        for state in kept:
            try:
                self.trainer.checkpoint.restore(state["checkpoint"]).assert_existing_objects_matched()
            except Exception as error:  # whatever the damage, the remedy is the checkpoint before
                reason = " ".join(str(error).split())[:200]
                problems.append(f"{state['checkpoint']}: {type(error).__name__}: {reason}")
                print(
                    f"checkpoint {state['checkpoint']} cannot be read ({type(error).__name__}); trying the one before"
                )
                continue
            if problems:
                print(f"resuming from the previous good checkpoint, {state['checkpoint']}")
            answers = {int(seen): np.asarray(probs, np.float32) for seen, probs in state["answers"].items()}
            self._kept_states = kept[kept.index(state) :]
            return [tuple(entry) for entry in state["log"]], answers
        if problems:
            raise cli.UsageError(
                f"no checkpoint in {self.directory} can be read ({'; '.join(problems)}); delete that folder to "
                "start this run afresh, or pass another --output_dir."
            )
        return [], {}

    def save(self, step: int, log, answers, force: bool = False) -> None:
        if not force and step % self.every:
            return
        self.trainer.steps_done.assign(step)
        try:
            with faults.writing(self.directory):
                path = self.manager.save(checkpoint_number=step)
        except BaseException:
            faults.remove_partial_checkpoint(self.directory, f"ckpt-{step}")
            raise
        state = dict(checkpoint=path, log=list(log), answers={str(k): v.tolist() for k, v in answers.items()})
        # The manager keeps two checkpoints; so does the log, each entry with the log up to its checkpoint.
        self._kept_states = [state, *[s for s in self._kept_states if s["checkpoint"] != path]][:2]
        write_atomically(self.directory / "progress.json", json.dumps(dict(kept=self._kept_states)))


def claim_checkpoints(directory: Path, settings: dict) -> Path:
    """The checkpoint folder of a run with `settings`; refuses one left by a run with other settings."""

    claim = directory / "settings.json"
    if directory.is_dir() and not claim.exists() and any(directory.iterdir()):
        # Finished runs delete this folder: it must be ours before anything is written to it.
        raise cli.UsageError(
            f"{directory} exists and holds files that are not this reproduction's checkpoints "
            "(no settings.json); pass another --output_dir."
        )
    if claim.exists():
        try:
            earlier = json.loads(claim.read_text())
        except (OSError, ValueError) as error:
            raise cli.UsageError(
                f"{claim} cannot be read ({type(error).__name__}: {error}); it records the settings of the "
                f"unfinished run in {directory}: delete that folder to start afresh, or pass another --output_dir."
            ) from error
        if earlier != settings:
            changed = {key: (earlier.get(key), value) for key, value in settings.items() if earlier.get(key) != value}
            raise cli.UsageError(
                f"{directory} holds the checkpoints of an unfinished run with other settings "
                f"(earlier, now: {changed}); rerun with those settings to resume it, or pass "
                "another --output_dir, or delete that folder."
            )
    else:
        write_atomically(claim, json.dumps(settings))
    return directory


def tutorial_early_stopping(backup_dir: Path, x_valid, y_valid, *, valid_every: int, patience: int, batch: int = 64):
    """The Theano LSTM tutorial's early stopping, as a Keras callback whose state survives an interruption.

    Every `valid_every` updates (``validFreq``, counted across epochs) it
    measures the validation error. An error at or below every earlier one keeps
    the weights as the best and clears the bad count. Once more than `patience`
    validations are in, an error no better than the best of all but the last
    `patience` of them raises the bad count; when the count passes `patience`,
    training stops. At the end the best weights are restored (``best_p``).

    `BackupAndRestore` restores the model, the optimizer and the epoch, not this
    state: it is written into `backup_dir` after every epoch (aside, then renamed)
    and read back when training begins; `BackupAndRestore` deletes the folder
    once training completes.
    """
    import keras

    class TutorialEarlyStopping(keras.callbacks.Callback):
        state_file, weights_file = Path(backup_dir) / "early_stopping.json", Path(backup_dir) / "early_stopping.npz"

        def on_train_begin(self, logs=None):
            self.updates, self.errors, self.bad, self.best_weights = 0, [], 0, None
            if self.state_file.is_file():
                state = json.loads(self.state_file.read_text())
                self.updates, self.errors, self.bad = state["updates"], state["errors"], state["bad"]
                if self.weights_file.is_file():
                    with np.load(self.weights_file) as saved:
                        self.best_weights = [saved[f"w{k}"] for k in range(len(saved.files))]

        def validation_error(self) -> float:
            hits = 0
            for start in range(0, len(y_valid), batch):
                probabilities = np.asarray(self.model(x_valid[start : start + batch], training=False))
                hits += int(np.sum(probabilities.argmax(axis=-1) == y_valid[start : start + batch]))
            return 1.0 - hits / len(y_valid)

        def on_train_batch_end(self, batch, logs=None):
            self.updates += 1
            if self.updates % valid_every:
                return
            error = self.validation_error()
            self.errors.append(error)
            if error <= min(self.errors):
                self.best_weights, self.bad = self.model.get_weights(), 0
            if len(self.errors) > patience and error >= min(self.errors[:-patience]):
                self.bad += 1
                if self.bad > patience:
                    print(f"Early Stop! after {self.updates} updates ({len(self.errors)} validations)")
                    self.model.stop_training = True

        def on_epoch_end(self, epoch, logs=None):
            if self.best_weights is not None:
                buffer = io.BytesIO()
                np.savez(buffer, **{f"w{k}": w for k, w in enumerate(self.best_weights)})
                write_atomically(self.weights_file, buffer.getvalue())
            state = dict(updates=self.updates, errors=self.errors, bad=self.bad)
            write_atomically(self.state_file, json.dumps(state))

        def on_train_end(self, logs=None):
            if self.best_weights is not None:
                self.model.set_weights(self.best_weights)

    return TutorialEarlyStopping()
