"""The one call context (`tf_lstm.context`): scoped, nested, per thread, and nothing written on the layers."""

import threading

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm import MaskedMean, ScanLSTM
from tf_lstm.context import Slot, Streams, calling, probes_of, slot_of


def test_calling_is_scoped_and_nests_on_the_outer_context():
    first, second = ScanLSTM(2, name="first"), ScanLSTM(2, name="second")
    a, b, c = Slot(carry=()), Slot(carry=()), Slot(carry=())
    with calling(slots=[(first, a)]):
        with calling(slots=[(second, b)], probes=[(first, "probes")]):
            assert (slot_of(first), slot_of(second), probes_of(first)) == (a, b, "probes")
            with calling(slots=[(first, c)]):
                assert slot_of(first) is c and slot_of(second) is b  # the inner one wins for its layer only
            assert slot_of(first) is a
        assert (slot_of(first), slot_of(second), probes_of(first)) == (a, None, None)
    assert slot_of(first) is None and not any(key.startswith("_stream") for key in vars(first))


def test_calling_is_restored_when_the_block_raises():
    layer = ScanLSTM(2)
    with pytest.raises(RuntimeError), calling(slots=[(layer, Slot(carry=()))]):
        raise RuntimeError("the model failed")
    assert slot_of(layer) is None


def test_each_thread_sees_its_own_context():
    layer = ScanLSTM(2)
    mine = Slot(carry=())
    seen, inside, leave = [], threading.Event(), threading.Event()

    def other_thread():
        with calling(slots=[(layer, Slot(carry=("theirs",)))]):
            inside.set()
            leave.wait(10)
            seen.append(slot_of(layer).carry)

    with calling(slots=[(layer, mine)]):
        thread = threading.Thread(target=other_thread)
        thread.start()
        inside.wait(10)
        assert slot_of(layer) is mine  # the other thread's block does not reach this one
        leave.set()
        thread.join(10)
    assert seen == [("theirs",)]


def test_the_layers_that_stream_say_so_and_name_their_state():
    lstm, mean = ScanLSTM(3, name="lstm"), MaskedMean(name="mean")
    x = tf.zeros([1, 2, 4])
    mean(lstm(x, mask=None)[:, None])
    assert isinstance(lstm, Streams) and isinstance(mean, Streams)
    assert lstm.stream_state() == [("h", 3), ("c", 3)] and mean.stream_state() == [("sum", 3), ("count", 1)]
    assert not isinstance(keras.layers.Dense(1), Streams)
    with pytest.raises(ValueError, match="'backward' has go_backwards=True"):
        ScanLSTM(3, go_backwards=True, name="backward").stream_state()
    with pytest.raises(ValueError, match="'unbuilt' is not built"):
        ScanLSTM(3, name="unbuilt").stream_state()


def test_a_streamed_call_reads_its_slot_and_leaves_its_final_state():
    lstm = ScanLSTM(3)
    x = np.random.default_rng(0).normal(size=(2, 5, 4)).astype("float32")
    whole = lstm(x)
    slot = Slot(carry=(tf.zeros([2, 3]), tf.zeros([2, 3])))
    with calling(slots=[(lstm, slot)]):
        lstm(x[:, :3])
    second = Slot(carry=slot.final)
    with calling(slots=[(lstm, second)]):
        chunked = lstm(x[:, 3:])
    # the same products and sums in the same order: h in (-1, 1), 5 steps of 4 inputs and 3 units
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=float32_tolerance(lstm_terms(5, 4, 3), 1.0))
