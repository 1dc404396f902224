"""Parity with a real torch.nn.LSTM: the equations of article D."""

import numpy as np
import pytest

from tests.conftest import require_torch
from tests.tolerance import float32_tolerance, lstm_terms
from tf_lstm.interop import load_torch_state_dict, to_torch_state_dict
from tf_lstm.multilayer import MultiLayerLSTM

FEATURES, HIDDEN, BATCH, STEPS = 5, 6, 3, 7


@pytest.fixture(scope="module")
def torch():
    return require_torch()


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("gate_order", ["ifgo", "ijfo"])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("proj_size", [0, 4])
def test_outputs_and_states_equal_pytorch(torch, num_layers, bidirectional, batch_first, gate_order, bias, proj_size):
    torch.manual_seed(num_layers)
    options = dict(batch_first=batch_first, bidirectional=bidirectional, bias=bias, proj_size=proj_size)
    reference = torch.nn.LSTM(FEATURES, HIDDEN, num_layers, **options)
    shape = (BATCH, STEPS, FEATURES) if batch_first else (STEPS, BATCH, FEATURES)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    with torch.no_grad():
        expected, (h_expected, c_expected) = reference(torch.from_numpy(x))
    model = MultiLayerLSTM(HIDDEN, num_layers=num_layers, gate_order=gate_order, **options)
    load_torch_state_dict(model, reference.state_dict())
    directions = 2 if bidirectional else 1
    assert len(model.weights) == num_layers * directions * (2 + bias + bool(proj_size))
    output, (h_n, c_n) = model(x)
    assert h_n.shape == (num_layers * directions, BATCH, proj_size or HIDDEN)
    assert c_n.shape == (num_layers * directions, BATCH, HIDDEN)
    assert output.shape[-1] == directions * (proj_size or HIDDEN)
    # Float32 on both sides; layers after the first read 2·HIDDEN features (bidirectional), a projection
    # adds HIDDEN terms a step. Values <= |x|·|W| < 4 × 0.41 (PyTorch's uniform(±1/sqrt(HIDDEN)) weights): 2.
    terms = lstm_terms(STEPS, max(FEATURES, 2 * HIDDEN) + HIDDEN, HIDDEN, num_layers)
    tolerance = float32_tolerance(terms, 2.0)
    np.testing.assert_allclose(output, expected.numpy(), rtol=0, atol=tolerance)
    np.testing.assert_allclose(h_n, h_expected.numpy(), rtol=0, atol=tolerance)
    np.testing.assert_allclose(c_n, c_expected.numpy(), rtol=0, atol=tolerance)

    # And back: the exported state dict makes an equal PyTorch module.
    round_trip = torch.nn.LSTM(FEATURES, HIDDEN, num_layers, **options)
    round_trip.load_state_dict(to_torch_state_dict(model, as_torch=True))  # strict: exactly its keys
    with torch.no_grad():
        again, (h_again, c_again) = round_trip(torch.from_numpy(x))
    np.testing.assert_allclose(again.numpy(), expected.numpy(), rtol=0, atol=tolerance)
    np.testing.assert_allclose(h_again.numpy(), h_expected.numpy(), rtol=0, atol=tolerance)
    np.testing.assert_allclose(c_again.numpy(), c_expected.numpy(), rtol=0, atol=tolerance)


def test_state_dict_of_numpy_arrays_loads_too(torch):
    reference = torch.nn.LSTM(FEATURES, HIDDEN)
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    model = MultiLayerLSTM(HIDDEN, batch_first=False)
    load_torch_state_dict(model, state)
    exported = to_torch_state_dict(model)
    assert set(exported) == set(state)
    np.testing.assert_allclose(exported["weight_ih_l0"], state["weight_ih_l0"], atol=0)


def test_a_state_dict_with_biases_does_not_load_into_a_model_without(torch):
    reference = torch.nn.LSTM(FEATURES, HIDDEN)
    with pytest.raises(ValueError, match=r"bias=False.*unexpected keys \['bias_hh_l0', 'bias_ih_l0'\]"):
        load_torch_state_dict(MultiLayerLSTM(HIDDEN, bias=False), reference.state_dict())


@pytest.mark.parametrize("proj_size", [-1, 6, 7])
def test_proj_size_must_be_below_hidden_size(proj_size):
    with pytest.raises(ValueError, match=f"proj_size must be 0 .*got proj_size={proj_size}"):
        MultiLayerLSTM(HIDDEN, proj_size=proj_size)
