r"""What a reproduction is, and the one driver that runs any of them from its flags.

A reproduction is a module with:

- ``NAME`` (its run folder, ``runs/<NAME>``) and ``PREFIX`` (its flags are
  ``--<PREFIX>_<setting>``);
- ``Config``: a frozen dataclass of the article's protocol, one
  `reproductions.config.setting` per field (`reproductions.config` makes the flags);
- ``USES``: the shared flags it reads, among `SHARED`. A flag it does not read
  is refused when given to it, and the runner says which reproductions a
  shared flag applies to: nothing is silently ignored;
- ``reproduce(settings, options, **data) -> Report``: the article's
  experiment, `settings` a ``Config`` and `options` the shared
  `reproductions.options.RunOptions`, as a Python caller passes them too.

and, when it needs them:

- ``missing_requirement() -> str | None``: why it cannot run here (no data,
  no PyTorch), with the flag that fixes it;
- ``data_from_flags() -> dict``: the keyword arguments of ``reproduce`` that
  say where its data is (``mnist_dir=``...). They are no part of ``Config``,
  whose every value is recorded in the report, since a path names a machine.

`from_flags` and `main` are the one driver: flags → ``Config`` and
``RunOptions`` (the run folder and its lock, the export folder, the strategy,
TensorBoard), then ``reproduce``, then the report's verdict and exit status.
`conforms` is what the tests check of every reproduction.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from types import ModuleType
from typing import Any, Protocol, runtime_checkable

from absl import flags

from reproductions import cli, config
from reproductions.options import RunOptions
from reproductions.report import Report

FLAGS = flags.FLAGS

# The flags every reproduction may share (defined in `reproductions.cli`), and what reading each means.
# --output_dir is not among them: every reproduction writes its report there.
SHARED = {
    "seed": "trains from a seed",
    "seeds": "trains several seeds and judges their mean",
    "export_dir": "exports its trained model",
    "strategy": "trains under a tf.distribute strategy",
    "deterministic": "trains under a tf.distribute strategy",  # made with the strategy (cli.strategy)
    "logical_cpus": "trains under a tf.distribute strategy",
    "tensorboard": "writes a TensorBoard log of its training",
    "tfds_data_dir": "reads its data through TensorFlow Datasets",
}
STRATEGY = ("strategy", "deterministic", "logical_cpus")  # read together, by cli.strategy


@runtime_checkable
class Reproduction(Protocol):
    """The shape of a reproduction module (see the module's docstring)."""

    NAME: str
    PREFIX: str
    Config: type
    USES: frozenset[str]

    def reproduce(self, settings: Any, options: RunOptions, /, **data: Any) -> Report: ...


def conforms(module: ModuleType) -> list[str]:
    """What `module` lacks to be a reproduction; empty when it conforms."""
    if not isinstance(module, Reproduction):
        missing = [name for name in ("NAME", "PREFIX", "Config", "USES", "reproduce") if not hasattr(module, name)]
        return [f"no {name}" for name in missing]
    problems = []
    params = getattr(module.Config, "__dataclass_params__", None)  # what @dataclass(frozen=...) was given
    if params is None or not params.frozen:
        problems.append("Config is not a frozen dataclass")
    unknown = set(module.USES) - set(SHARED)
    if unknown:
        problems.append(f"USES names flags that are not shared: {', '.join(sorted(unknown))}")
    if set(STRATEGY) & set(module.USES) and not set(STRATEGY) <= set(module.USES):
        problems.append(f"{', '.join(STRATEGY)} are read together")
    parameters = list(inspect.signature(module.reproduce).parameters.values())
    if [p.name for p in parameters[:2]] != ["settings", "options"]:
        problems.append("reproduce does not take (settings, options, ...)")
    elif parameters[0].default != module.Config() or parameters[1].default != RunOptions():
        problems.append("reproduce's defaults are not Config() and RunOptions()")
    if hasattr(module, "data_from_flags") and all(p.kind != p.KEYWORD_ONLY for p in parameters[2:]):
        problems.append("data_from_flags is given, but reproduce takes no keyword-only data arguments")
    return problems


def applies_to(flag: str, modules: dict[str, ModuleType]) -> list[str]:
    """The reproductions among `modules` that read the shared `flag`."""
    return [name for name, module in modules.items() if flag in module.USES]


def given_shared_flags() -> list[str]:
    """The shared flags the command line sets."""
    return [name for name in SHARED if FLAGS[name].present]


def refuse_unused(module: ModuleType) -> None:
    """A shared flag given to a reproduction that does not read it is bad input, said before any work."""
    unused = [name for name in given_shared_flags() if name not in module.USES]
    if unused:
        flag = unused[0]
        raise cli.UsageError(
            f"--{flag}={FLAGS[flag].value}: {module.NAME} does not read it (only a reproduction that "
            f"{SHARED[flag]} does); leave it out"
        )


def options_from_flags(module: ModuleType) -> RunOptions:
    """The `RunOptions` the flags give `module`; a shared flag it does not read keeps `RunOptions`' default."""
    defaults, uses = RunOptions(), module.USES
    # The strategy first: it tells a chief from a worker, which decides the run and export folders.
    strategy = cli.strategy() if "strategy" in uses else None
    return RunOptions(
        seeds=FLAGS.seeds if "seeds" in uses else defaults.seeds,
        seed=FLAGS.seed if "seed" in uses else defaults.seed,
        run_dir=cli.claim_run_dir(module.NAME),
        export_to=cli.claim_export_dir(module.NAME) if "export_dir" in uses else None,
        strategy=strategy,
        tensorboard=FLAGS.tensorboard if "tensorboard" in uses else False,
    )


def from_flags(module: ModuleType) -> Report:
    """Runs `module`'s reproduction as the flags ask: its ``Config``, the shared options, its data's paths."""
    settings = config.from_flags(module.Config, module.PREFIX)
    data = module.data_from_flags() if hasattr(module, "data_from_flags") else {}
    return module.reproduce(settings, options_from_flags(module), **data)


def main(module: ModuleType | str) -> None:
    """The ``__main__`` of a reproduction script: refuse what it does not read, ask what it is missing, run it,
    print its report, exit with its status (`reproductions.cli.run`)."""
    module = sys.modules[module] if isinstance(module, str) else module
    missing_requirement: Callable[[], str | None] = getattr(module, "missing_requirement", lambda: None)

    def run(argv) -> int:
        del argv
        refuse_unused(module)
        missing = missing_requirement()
        if missing:
            raise cli.UsageError(missing)
        return from_flags(module).finish()

    cli.run(run)
