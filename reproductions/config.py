"""Config-first reproductions: each script's protocol is one frozen dataclass of the article's defaults.

The flags of a script are made from its dataclass in one place
(`define_flags`), each named ``<prefix>_<setting>`` (``digits_epochs``,
``imdb_maxlen``, ...; the flags every script shares, such as ``--seeds`` and
``--output_dir``, are bare), and read back into it (`from_flags`). The report
records ``dataclasses.asdict(config)``, and its protocol table compares every
setting with the article's (`protocol_of`).

>>> @dataclasses.dataclass(frozen=True)
... class Example:
...     epochs: int = setting(100, "Epochs (the article's: 100).", lower_bound=1)
>>> protocol_of(Example(epochs=2))
{'epochs': (2, 100)}
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from absl import flags

FLAGS = flags.FLAGS
Config = TypeVar("Config")


def setting(
    default: Any,
    help: str,
    *,
    lower_bound: float | None = None,
    upper_bound: float | None = None,
    choices: Sequence[str] | None = None,
    protocol: bool = True,
    article: Any = None,
    why: str = "",
) -> Any:
    """A field of a protocol dataclass: its default (the article's), its flag's help and bounds.

    ``protocol=False`` marks a setting that does not change what is measured
    (how often to print, to checkpoint): it is recorded but not compared.

    Where the default deliberately differs from what the article did, `article`
    is the article's value and `why` the reason: the difference is listed on the
    article's page and in its report (`differences`), for as long as a run keeps it.
    """
    if (article is None) != (not why):
        raise ValueError("a setting that differs from the article names both the article's value and why")
    metadata = dict(
        help=help,
        lower_bound=lower_bound,
        upper_bound=upper_bound,
        choices=choices,
        protocol=protocol,
        article=article,
        why=why,
    )
    return dataclasses.field(default=default, metadata=metadata)


def define_flags(config_class: type, prefix: str) -> None:
    """Defines one absl flag per field of `config_class`, named ``<prefix>_<field>``, with its default and help."""
    for field in dataclasses.fields(config_class):
        name, meta, default = f"{prefix}_{field.name}", field.metadata, cast(Any, field.default)
        if meta["choices"]:
            flags.DEFINE_enum(name, default, list(meta["choices"]), meta["help"])
        elif isinstance(default, bool):
            flags.DEFINE_bool(name, default, meta["help"])
        elif isinstance(default, int):
            flags.DEFINE_integer(name, default, meta["help"], meta["lower_bound"], meta["upper_bound"])
        elif isinstance(default, float):
            flags.DEFINE_float(name, default, meta["help"], meta["lower_bound"], meta["upper_bound"])
            # NaN passes absl's bounds (every comparison with NaN is false), and ±inf is no setting.
            flags.register_validator(name, _finite, message=f"--{name} must be a finite number")
        else:
            flags.DEFINE_string(name, default, meta["help"])


def _finite(value: float | None) -> bool:
    return value is None or math.isfinite(value)


def from_flags(config_class: type[Config], prefix: str) -> Config:
    """The `config_class` the command line asks for."""
    fields = dataclasses.fields(cast(Any, config_class))
    return config_class(**{f.name: FLAGS[f"{prefix}_{f.name}"].value for f in fields})


def protocol_of(config: Any) -> dict[str, tuple[Any, Any]]:
    """``{setting: (value run, the article's value)}`` for every setting that is part of the protocol."""
    return {
        f.name: (getattr(config, f.name), f.default)
        for f in dataclasses.fields(config)
        if f.metadata.get("protocol", True)
    }


def differences(config: Any) -> list[dict[str, Any]]:
    """Where a run with `config` differs from the article, and why: each setting whose value is not the
    article's (`setting`'s `article`), then the config class's ``DIFFERENCES`` (what no setting expresses,
    ``(what, why)`` pairs)."""
    found = [
        dict(what=f.name, run=getattr(config, f.name), article=f.metadata["article"], why=f.metadata["why"])
        for f in dataclasses.fields(config)
        if f.metadata.get("article") is not None and getattr(config, f.name) != f.metadata["article"]
    ]
    for what, why in getattr(type(config), "DIFFERENCES", ()):
        found.append(dict(what=what, run=None, article=None, why=why))
    return found
