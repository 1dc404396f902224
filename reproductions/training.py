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


def resumable_early_stopping(backup_dir: Path, **options):
    """Keras' `EarlyStopping` whose state survives an interruption, beside `BackupAndRestore`'s backup.

    `BackupAndRestore` restores the model, the optimizer and the epoch, but
    not the early stopping's best score, its patience count or the best
    weights it would restore at the end: a resumed run would then choose its
    best epoch among the epochs after the restart only. This one writes that
    state into `backup_dir` after every epoch (aside, then renamed) and reads
    it back when training begins; `BackupAndRestore` deletes the folder once
    training completes.
    """
    import keras

    class ResumableEarlyStopping(keras.callbacks.EarlyStopping):
        state_file, weights_file = Path(backup_dir) / "early_stopping.json", Path(backup_dir) / "early_stopping.npz"

        def on_train_begin(self, logs=None):
            super().on_train_begin(logs)
            if self.state_file.is_file():
                state = json.loads(self.state_file.read_text())
                self.wait, self.best, self.best_epoch = state["wait"], state["best"], state["best_epoch"]
                if self.weights_file.is_file():
                    with np.load(self.weights_file) as saved:
                        self.best_weights = [saved[f"w{k}"] for k in range(len(saved.files))]

        def on_epoch_end(self, epoch, logs=None):
            super().on_epoch_end(epoch, logs)
            if self.best_weights is not None:
                buffer = io.BytesIO()
                np.savez(buffer, **{f"w{k}": w for k, w in enumerate(self.best_weights)})
                write_atomically(self.weights_file, buffer.getvalue())
            best = None if self.best is None else float(self.best)
            state = dict(wait=self.wait, best=best, best_epoch=self.best_epoch)
            write_atomically(self.state_file, json.dumps(state))

    return ResumableEarlyStopping(**options)
