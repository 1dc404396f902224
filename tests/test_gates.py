import numpy as np
import pytest

from tf_lstm.gates import canonical_gate_order, convert_gate_order, gate_permutation


@pytest.mark.parametrize(
    "order, canonical",
    [("ifgo", "ifgo"), ("ifco", "ifgo"), ("ijfo", "igfo"), ("zifo", "gifo"), ("ifoc", "ifog"), ("IFGO", "ifgo")],
)
def test_aliases_resolve_to_the_candidate_g(order, canonical):
    assert canonical_gate_order(order) == canonical


@pytest.mark.parametrize("bad", ["ifg", "iffo", "ifgx", "ifgoo", "jfgo", "ifzc", ""])
def test_invalid_orders_name_the_value(bad):
    with pytest.raises(ValueError, match=f"gate_order={bad!r}"):
        canonical_gate_order(bad)


def test_non_string_order_is_a_type_error():
    with pytest.raises(TypeError, match="gate_order must be a string"):
        canonical_gate_order(["i", "f", "g", "o"])


def test_conversion_moves_blocks_by_name():
    # Blocks labelled by gate: after conversion each label lands where the target order wants it.
    labels = {"i": 1.0, "f": 2.0, "g": 3.0, "o": 4.0}
    source = "ijfo"
    array = np.concatenate([np.full((2, 3), labels[{"j": "g"}.get(ch, ch)]) for ch in source], axis=1)
    converted = convert_gate_order(array, source, "ifgo")
    assert [converted[0, 3 * k] for k in range(4)] == [1.0, 2.0, 3.0, 4.0]
    assert gate_permutation("ijfo", "ifgo") == [0, 2, 1, 3]


@pytest.mark.parametrize("a", ["ifgo", "ijfo", "zifo", "ifoc", "ifco", "oifg"])
@pytest.mark.parametrize("b", ["ifgo", "ijfo", "zifo", "ifoc"])
def test_round_trip_is_identity(a, b):
    array = np.random.default_rng(0).normal(size=(5, 4 * 6))
    np.testing.assert_array_equal(convert_gate_order(convert_gate_order(array, a, b), b, a), array)


def test_axis_not_divisible_by_four():
    with pytest.raises(ValueError, match="divisible by 4"):
        convert_gate_order(np.zeros((3, 10)), "ifgo", "ijfo")
