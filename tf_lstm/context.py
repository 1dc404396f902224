"""The one context in which a model call does more than compute its outputs.

Two features need a layer deep inside a user's model to behave differently
for one call, without the model's code passing anything down:

- **streaming** (`tf_lstm.streaming`): a layer that keeps state across steps
  starts from a given state and hands its final state back, through a `Slot`;
- **probing** (`tf_lstm.gradients_through_time`): zeros are added to a
  `Recurrent` layer's states at every step, so that the gradient with
  respect to them is the gradient with respect to those states.

`calling` sets both for the duration of a ``with`` block, in a
`contextvars.ContextVar`, and restores what was there before: nothing is
written on the layers, the model's code is untouched, and nested or
concurrent calls each see their own. A layer reads its part with `slot_of`
and `probes_of`. Keras runs a model's call in Python, so a ``tf.function``
traced inside the block sees the context too.

`Streams` is the protocol of a layer that can be streamed: it names its state
tensors and their sizes. This module imports nothing of tf_lstm, so that the
layers, the pooling layers and the streaming code can all import it.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, Protocol, runtime_checkable


@dataclasses.dataclass
class Slot:
    """What a layer in stream mode reads (`carry`) and writes (`final`)."""

    carry: tuple
    final: tuple | None = None


@runtime_checkable
class Streams(Protocol):
    """A layer whose state can be passed in and out (`tf_lstm.streaming`)."""

    name: str

    def stream_state(self) -> list[tuple[str, int]]:
        """The layer's state tensors, ``(name, size)`` each, in the order its `Slot` carries them; raises a
        `ValueError` naming the layer when it cannot be streamed (not built, or running backwards)."""
        ...


@dataclasses.dataclass(frozen=True)
class _Context:
    slots: Mapping[int, Slot] = dataclasses.field(default_factory=dict)
    probes: Mapping[int, Any] = dataclasses.field(default_factory=dict)


_OUTSIDE = _Context()  # never changed: `calling` makes a new one
_CURRENT: contextvars.ContextVar[_Context] = contextvars.ContextVar("tf_lstm_call_context")


@contextlib.contextmanager
def calling(
    *,
    slots: Iterable[tuple[Any, Slot]] = (),
    probes: Iterable[tuple[Any, Any]] = (),
) -> Iterator[None]:
    """Within it, each ``(layer, slot)`` of `slots` streams through its slot, and each ``(layer, probes)`` of
    `probes` (a `Recurrent`) adds those ``[time, batch, Σ state sizes]`` zeros to its states; on top of any outer
    `calling`."""
    before = _CURRENT.get(_OUTSIDE)
    token = _CURRENT.set(
        _Context(
            slots={**before.slots, **{id(layer): slot for layer, slot in slots}},
            probes={**before.probes, **{id(layer): value for layer, value in probes}},
        )
    )
    try:
        yield
    finally:
        _CURRENT.reset(token)


def slot_of(layer: Any) -> Slot | None:
    """`layer`'s slot within `calling`, or None outside stream mode."""
    return _CURRENT.get(_OUTSIDE).slots.get(id(layer))


def probes_of(layer: Any) -> Any | None:
    """The probes added to `layer`'s states within `calling`, or None."""
    return _CURRENT.get(_OUTSIDE).probes.get(id(layer))
