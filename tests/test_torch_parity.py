"""Parity with a real torch.nn.LSTM: the equations of article D."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from tf_lstm.convert import load_torch_state_dict, to_torch_state_dict  # noqa: E402
from tf_lstm.multilayer import MultiLayerLSTM  # noqa: E402

FEATURES, HIDDEN, BATCH, STEPS = 5, 6, 3, 7


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("gate_order", ["ifgo", "ijfo"])
def test_outputs_and_states_equal_pytorch(num_layers, bidirectional, batch_first, gate_order):
    torch.manual_seed(num_layers)
    reference = torch.nn.LSTM(FEATURES, HIDDEN, num_layers, batch_first=batch_first, bidirectional=bidirectional)
    shape = (BATCH, STEPS, FEATURES) if batch_first else (STEPS, BATCH, FEATURES)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    with torch.no_grad():
        expected, (h_expected, c_expected) = reference(torch.from_numpy(x))
    model = MultiLayerLSTM(
        HIDDEN, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, gate_order=gate_order
    )
    load_torch_state_dict(model, reference.state_dict())
    output, (h_n, c_n) = model(x)
    directions = 2 if bidirectional else 1
    assert h_n.shape == (num_layers * directions, BATCH, HIDDEN)
    np.testing.assert_allclose(output, expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(h_n, h_expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(c_n, c_expected.numpy(), atol=1e-5)

    # And back: the exported state dict makes an equal PyTorch module.
    round_trip = torch.nn.LSTM(FEATURES, HIDDEN, num_layers, batch_first=batch_first, bidirectional=bidirectional)
    round_trip.load_state_dict(to_torch_state_dict(model, as_torch=True))
    with torch.no_grad():
        again, (h_again, c_again) = round_trip(torch.from_numpy(x))
    np.testing.assert_allclose(again.numpy(), expected.numpy(), atol=1e-5)
    np.testing.assert_allclose(c_again.numpy(), c_expected.numpy(), atol=1e-5)


def test_state_dict_of_numpy_arrays_loads_too():
    reference = torch.nn.LSTM(FEATURES, HIDDEN)
    state = {k: v.numpy() for k, v in reference.state_dict().items()}
    model = MultiLayerLSTM(HIDDEN, batch_first=False)
    load_torch_state_dict(model, state)
    exported = to_torch_state_dict(model)
    assert set(exported) == set(state)
    np.testing.assert_allclose(exported["weight_ih_l0"], state["weight_ih_l0"], atol=0)

