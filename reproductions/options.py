"""The options every reproduction shares beside its article's settings: one dataclass, the flags' defaults.

`reproductions.cli` makes the shared flags with these defaults, and
`reproductions.protocol.options_from_flags` fills the dataclass from them, so
a Python caller and the command line run the same thing unless told otherwise.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reproductions.report import Report


@dataclasses.dataclass(frozen=True)
class RunOptions:
    """How a reproduction runs, as its flags say (each attribute names its flag).

    Attributes:
        seeds: how many seeds a multi-seed reproduction trains (``--seeds``).
        seed: the first seed; the others follow it (``--seed``).
        run_dir: the run's folder (``--output_dir``/<name>); None: that default.
        export_to: the export folder (``--export_dir``); None: no export.
        strategy: the `tf.distribute` strategy (``--strategy``); None: one device.
        tensorboard: write a TensorBoard log (``--tensorboard``).
    """

    seeds: int = 3
    seed: int = 0
    run_dir: Path | None = None
    export_to: Path | None = None
    strategy: Any = None
    tensorboard: bool = True

    def __post_init__(self):
        if isinstance(self.seeds, bool) or not isinstance(self.seeds, int) or self.seeds < 1:
            raise ValueError(f"seeds must be a positive integer, got seeds={self.seeds!r}.")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got seed={self.seed!r}.")

    @property
    def seed_values(self) -> range:
        """The seeds to train: ``seed, seed + 1, …``, `seeds` of them."""
        return range(self.seed, self.seed + self.seeds)

    @property
    def replicas(self) -> int:
        """The replicas training runs on: the strategy's, else 1."""
        return self.strategy.num_replicas_in_sync if self.strategy is not None else 1

    def report(self, name: str, settings, *, protocol=None, logs: bool = True) -> Report:
        """Reproduction `name`'s `Report` of `settings`, in `run_dir` (default: the flags' folder for `name`);
        a TensorBoard log if `tensorboard` and the reproduction `logs` (trains)."""
        from reproductions import cli
        from reproductions.report import Report

        run_dir = self.run_dir or cli.claim_run_dir(name)
        return Report(name, run_dir, settings, protocol=protocol, tensorboard=self.tensorboard and logs)
