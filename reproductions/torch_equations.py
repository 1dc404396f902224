r"""Article D: PyTorch's LSTM equations, computed by tf_lstm and by torch.nn.LSTM side by side.

    python -m reproductions.torch_equations

The article ends with PyTorch's equations and ``nn.LSTM(input_dim,
hidden_dim, num_layers, batch_first, bidirectional)`` followed by a fully
connected layer. Here that model is built twice — in PyTorch, and as
`tf_lstm.MultiLayerLSTM` + `Dense` — the weights are copied across (both
directions of conversion), and outputs, ``h_n``, ``c_n``, logits and
gradients are compared for layers 1-3, uni/bi-directional, batch-first or
not. Needs the ``torch`` extra.
"""

from __future__ import annotations

import dataclasses
import itertools
from typing import Any, ClassVar

import numpy as np
from absl import flags

from reproductions import cli, config, protocol
from reproductions.config import setting
from reproductions.inside import write_inside_page
from reproductions.options import RunOptions
from reproductions.report import Report

FLAGS = flags.FLAGS
NAME = "torch_equations"
INSTALL_HINT = "PyTorch is not installed: pip install -e '.[torch]' (CI pins torch==2.13.0)"

PREFIX = "torch"


@dataclasses.dataclass(frozen=True)
class TorchConfig:
    """The sizes of the comparison; each setting is a flag ``--torch_<setting>``."""

    input_dim: int = setting(8, "Features per step.", lower_bound=1)
    hidden_dim: int = setting(16, "LSTM units per direction.", lower_bound=1)
    output_dim: int = setting(3, "Outputs of the fully connected layer.", lower_bound=1)
    max_layers: int = setting(3, "The grid runs num_layers = 1..max_layers.", lower_bound=1)

    DIFFERENCES: ClassVar[tuple[tuple[str, str], ...]] = (
        (
            "batch_first",
            "the article describes batch_first=True as (batch, feature, seq); torch.nn.LSTM takes (batch, seq, "
            "feature), and that is the layout compared here",
        ),
        (
            "sizes",
            "the article gives no sizes for its model; a grid of small ones (the settings above) is compared, "
            "where every difference shows",
        ),
    )


config.define_flags(TorchConfig, PREFIX)
Config = TorchConfig  # the protocol's name for it (reproductions.protocol)
# The shared flags it reads (reproductions.protocol.SHARED); any other given to it is refused.
USES = frozenset({"seed"})


def missing_requirement() -> str | None:
    try:
        import torch  # noqa: F401
    except ImportError:
        return INSTALL_HINT
    return None


def largest(values) -> float:
    """The largest of `values`, NaN if any is NaN (Python's max() would drop a NaN after the first element)."""
    values = np.asarray(list(values), dtype=np.float64)
    return float(np.max(values)) if values.size else float("nan")


def largest_difference(a, b) -> float:
    """max |a − b| over every element: NaN or Inf if either side has one, so a broken value cannot pass."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b))) if a.size else float("nan")


def _parameter(module: Any, name: str) -> Any:
    """A torch module's parameter by its registered name, detached (torch's stubs type such names loosely)."""
    return getattr(module, name).detach()


def _torch_model(
    torch: Any, input_dim, hidden_dim, output_dim, num_layers, batch_first, bidirectional, bias, proj_size
):
    class Net(torch.nn.Module):
        """The article's network: nn.LSTM, then a fully connected layer on the last step."""

        def __init__(self):
            super().__init__()
            self.lstm = torch.nn.LSTM(
                input_dim,
                hidden_dim,
                num_layers,
                batch_first=batch_first,
                bidirectional=bidirectional,
                bias=bias,
                proj_size=proj_size,
            )
            self.fc = torch.nn.Linear((proj_size or hidden_dim) * (2 if bidirectional else 1), output_dim)

        def forward(self, x):
            output, (h_n, c_n) = self.lstm(x)
            last = output[:, -1] if batch_first else output[-1]
            return output, h_n, c_n, self.fc(last)

    return Net()


def compare(
    case: dict, seed: int, input_dim: int, hidden_dim: int, output_dim: int, batch: int = 4, steps: int = 6
) -> dict[str, float]:
    """Largest |difference| of each quantity for one setting of the grid."""
    import keras
    import tensorflow as tf
    import torch

    from tf_lstm.interop import load_torch_state_dict
    from tf_lstm.multilayer import MultiLayerLSTM

    torch.manual_seed(seed)
    net = _torch_model(torch, input_dim, hidden_dim, output_dim, **case)
    shape = (batch, steps, input_dim) if case["batch_first"] else (steps, batch, input_dim)
    x = np.random.default_rng(seed).normal(size=shape).astype(np.float32)
    weights = np.random.default_rng(seed + 1).normal(size=(batch, output_dim)).astype(np.float32)

    x_torch = torch.from_numpy(x)
    t_output, t_h, t_c, t_logits = net(x_torch)
    (t_logits * torch.from_numpy(weights)).sum().backward()

    model = MultiLayerLSTM(
        hidden_dim,
        num_layers=case["num_layers"],
        bidirectional=case["bidirectional"],
        batch_first=case["batch_first"],
        bias=case["bias"],
        proj_size=case["proj_size"],
    )
    load_torch_state_dict(model, net.lstm.state_dict())
    dense = keras.layers.Dense(output_dim)
    dense.build((None, model.output_size * model.num_directions))
    dense.set_weights([net.fc.weight.detach().numpy().T, net.fc.bias.detach().numpy()])
    with tf.GradientTape() as tape:
        output, (h_n, c_n) = model(x)
        last = output[:, -1] if case["batch_first"] else output[-1]
        logits = dense(last)
        loss = tf.reduce_sum(logits * weights)
    directions = [lstm for k in range(model.num_layers) for lstm in model.directions(k)]
    variables = [
        v
        for lstm in directions
        for v in (lstm.kernel, lstm.recurrent_kernel, lstm.bias, lstm.cell_weights.get("projection_kernel"))
        if v is not None
    ]
    grad_diffs = _gradient_differences(model, tape.gradient(loss, variables), dict(net.lstm.named_parameters()))
    r_output, r_h, r_c = _exported_back(model, case, input_dim, hidden_dim, x_torch)
    diff = lambda a, b: largest_difference(a, b.detach().numpy())  # noqa: E731
    return dict(
        output=diff(output, t_output),
        h_n=diff(h_n, t_h),
        c_n=diff(c_n, t_c),
        logits=diff(logits, t_logits),
        gradients=largest(grad_diffs),
        exported_output=diff(r_output, t_output),
        exported_h_n=diff(r_h, t_h),
        exported_c_n=diff(r_c, t_c),
    )


def _gradient_differences(model, gradients, named: dict) -> list[float]:
    """Each weight's gradient (in `model`'s variables' order: per direction the kernel, recurrent kernel, bias and
    projection) against PyTorch's, its ``named`` parameters' ``.grad``, in PyTorch's layout."""
    from tf_lstm.interop import scan_lstm_to_torch

    grads = iter(gradients)
    differences = []
    suffixes = ["", "_reverse"]
    for k in range(model.num_layers):
        for d, lstm in enumerate(model.directions(k)):
            kernel, recurrent = next(grads).numpy(), next(grads).numpy()
            bias = next(grads).numpy() if lstm.bias is not None else None
            w_ih, w_hh, b = scan_lstm_to_torch(kernel, recurrent, bias, lstm.gate_order)
            suffix = f"l{k}{suffixes[d]}"
            pairs = [(w_ih, f"weight_ih_{suffix}"), (w_hh, f"weight_hh_{suffix}")]
            if b is not None:
                pairs += [(b, f"bias_ih_{suffix}"), (b, f"bias_hh_{suffix}")]
            if model.proj_size:
                pairs.append((next(grads).numpy().T, f"weight_hr_{suffix}"))
            for mine, theirs in pairs:
                differences.append(largest_difference(mine, named[theirs].grad.numpy()))
    return differences


def _exported_back(model, case: dict, input_dim: int, hidden_dim: int, x_torch):
    """Our weights as a state dict make a `torch.nn.LSTM`: its ``(output, h_n, c_n)`` on the same inputs."""
    import torch

    from tf_lstm.interop import to_torch_state_dict

    again = torch.nn.LSTM(
        input_dim,
        hidden_dim,
        case["num_layers"],
        batch_first=case["batch_first"],
        bidirectional=case["bidirectional"],
        bias=case["bias"],
        proj_size=case["proj_size"],
    )
    again.load_state_dict(to_torch_state_dict(model, as_torch=True))
    with torch.no_grad():
        r_output, (r_h, r_c) = again(x_torch)
    return r_output, r_h, r_c


def one_step_equations(seed: int, input_dim: int, hidden_dim: int) -> dict[str, float]:
    """f, i, g, o, c, h of one step: PyTorch's documented equations vs the package's step."""
    import tensorflow as tf
    import torch

    from tf_lstm.interop import load_torch_state_dict
    from tf_lstm.multilayer import MultiLayerLSTM
    from tf_lstm.steps import lstm_gates

    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(input_dim, hidden_dim, batch_first=True)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(2, 1, input_dim)).astype(np.float32)
    h0 = rng.normal(size=(1, 2, hidden_dim)).astype(np.float32)
    c0 = rng.normal(size=(1, 2, hidden_dim)).astype(np.float32)

    # PyTorch's documentation, term by term, from its own weights (blocks i, f, g, o).
    W_ii, W_if, W_ig, W_io = _parameter(lstm, "weight_ih_l0").chunk(4)
    W_hi, W_hf, W_hg, W_ho = _parameter(lstm, "weight_hh_l0").chunk(4)
    b_ii, b_if, b_ig, b_io = _parameter(lstm, "bias_ih_l0").chunk(4)
    b_hi, b_hf, b_hg, b_ho = _parameter(lstm, "bias_hh_l0").chunk(4)
    xt, h = torch.from_numpy(x[:, 0]), torch.from_numpy(h0[0])
    theirs = {
        "i": torch.sigmoid(xt @ W_ii.T + b_ii + h @ W_hi.T + b_hi),
        "f": torch.sigmoid(xt @ W_if.T + b_if + h @ W_hf.T + b_hf),
        "g": torch.tanh(xt @ W_ig.T + b_ig + h @ W_hg.T + b_hg),
        "o": torch.sigmoid(xt @ W_io.T + b_io + h @ W_ho.T + b_ho),
    }
    with torch.no_grad():
        _, (h1, c1) = lstm(torch.from_numpy(x), (torch.from_numpy(h0), torch.from_numpy(c0)))
    theirs["c"], theirs["h"] = c1[0], h1[0]

    model = MultiLayerLSTM(hidden_dim)
    load_torch_state_dict(model, lstm.state_dict())
    layer = model.directions(0)[0]
    projected = tf.matmul(x[:, 0], layer.kernel) + layer.bias
    mine = lstm_gates(
        tf.constant(h0[0]), projected, recurrent_kernel=layer.recurrent_kernel, gate_positions=layer.gate_positions
    )
    _, h_mine, c_mine = layer(x, initial_state=[h0[0], c0[0]])  # return_sequences and return_state
    mine = {**mine, "c": c_mine, "h": h_mine}

    print("\none step, the article's equations (PyTorch's documentation):")
    header = ("quantity", "equation".ljust(41), "tf_lstm[0,:3]".ljust(26), "torch[0,:3]".ljust(27), "max |diff|")
    print("  " + " | ".join(header))
    equations = {
        "f": "σ(W_if x + b_if + W_hf h + b_hf)",
        "i": "σ(W_ii x + b_ii + W_hi h + b_hi)",
        "g": "tanh(W_ig x + b_ig + W_hg h + b_hg)",
        "o": "σ(W_io x + b_io + W_ho h + b_ho)",
        "c": "f⊙c + i⊙g",
        "h": "o⊙tanh(c')",
    }
    diffs = {}
    for name, equation in equations.items():
        a, b = np.asarray(mine[name]), theirs[name].detach().numpy()
        diffs[name] = largest_difference(a, b)
        print(
            f"  {name:<8} | {equation:<41} | {np.array2string(a[0, :3], precision=5):<26} | "
            f"{np.array2string(b[0, :3], precision=5):<27} | {diffs[name]:.2e}"
        )
    return diffs


def gate_differences_over_steps(seed: int, input_dim: int, hidden_dim: int, steps: int = 30) -> dict[str, list]:
    """Per step, the largest |tf_lstm − PyTorch| of each gate and state over a sequence of `steps`.

    PyTorch's gates come from its documented equations, stepped by hand with
    its own weights (its `nn.LSTM` does not return them); c and h are its
    `nn.LSTM`'s. tf_lstm's come from `tf_lstm.trace` of the layer holding the
    same weights.
    """
    import torch

    import tf_lstm
    from tf_lstm.interop import load_torch_state_dict
    from tf_lstm.multilayer import MultiLayerLSTM

    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(input_dim, hidden_dim, batch_first=True)
    x = np.random.default_rng(seed + 1).normal(size=(4, steps, input_dim)).astype(np.float32)
    weight_ih, weight_hh = _parameter(lstm, "weight_ih_l0"), _parameter(lstm, "weight_hh_l0")
    bias = _parameter(lstm, "bias_ih_l0") + _parameter(lstm, "bias_hh_l0")
    h = c = torch.zeros(4, hidden_dim)
    theirs: dict[str, list] = {name: [] for name in "ifgo"}
    for t in range(steps):
        z_i, z_f, z_g, z_o = (torch.from_numpy(x[:, t]) @ weight_ih.T + h @ weight_hh.T + bias).chunk(4, dim=1)
        i, f, g, o = torch.sigmoid(z_i), torch.sigmoid(z_f), torch.tanh(z_g), torch.sigmoid(z_o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip("ifgo", (i, f, g, o)):
            theirs[name].append(value.numpy())
    with torch.no_grad():
        outputs, _ = lstm(torch.from_numpy(x))
        cells = []  # nn.LSTM returns c of the last step only: run it step by step for every c
        state = None
        for t in range(steps):
            _, state = lstm(torch.from_numpy(x[:, t : t + 1]), state)
            cells.append(state[1][0].numpy())
    model = MultiLayerLSTM(hidden_dim)
    load_torch_state_dict(model, lstm.state_dict())
    layer = model.directions(0)[0]
    mine = tf_lstm.trace(layer, x)
    expected = {name: np.stack(values, axis=1) for name, values in theirs.items()}
    expected["c"], expected["h"] = np.stack(cells, axis=1), outputs.numpy()
    return {
        name: [largest_difference(np.asarray(mine[name])[:, t], expected[name][:, t]) for t in range(steps)]
        for name in "ifgoch"
    }


def plot_gate_differences(differences: dict[str, list]):
    """The per-step difference of each gate and state, on a log scale."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4.2), layout="constrained")
    axes = figure.subplots()
    for name, values in differences.items():
        steps = np.arange(1, len(values) + 1)
        axes.semilogy(steps, np.maximum(values, 1e-12), marker=".", label=name)
    axes.axhline(float(np.finfo(np.float32).eps), color="grey", linewidth=0.8, linestyle="--", label="float32 eps")
    axes.set_xlabel("time step")
    axes.set_ylabel("max |tf_lstm − PyTorch| (log; 0 drawn at 1e-12)")
    axes.set_title("tf_lstm against torch.nn.LSTM, gate by gate and step by step")
    axes.legend(ncol=4, fontsize=8)
    return figure


def keras_difference(seed: int, input_dim: int, hidden_dim: int) -> float:
    """Largest |ScanLSTM − keras.layers.LSTM| (outputs and states), given Keras' weights."""
    import keras

    import tf_lstm
    from tf_lstm.interop import load_keras_lstm_weights

    x = np.random.default_rng(seed).normal(size=(4, 6, input_dim)).astype(np.float32)
    keras.utils.set_random_seed(seed)
    reference = keras.layers.LSTM(
        hidden_dim, return_sequences=True, return_state=True, bias_initializer="random_normal"
    )
    expected = reference(x)
    layer = tf_lstm.ScanLSTM(hidden_dim, return_sequences=True, return_state=True)
    load_keras_lstm_weights(layer, reference)
    return largest(largest_difference(a, b) for a, b in zip(layer(x), expected))


def reproduce(settings: TorchConfig = TorchConfig(), options: RunOptions = RunOptions()) -> Report:
    missing = missing_requirement()
    if missing:
        raise cli.UsageError(missing)
    seed = options.seed
    report = options.report(NAME, settings, logs=False)
    rows = []
    print(
        "layers | bidirectional | batch_first | bias  | proj | output   | h_n      | c_n      | logits   | gradients "
        "| exported"
    )
    projections = (0, settings.hidden_dim // 2) if settings.hidden_dim >= 2 else (0,)  # proj_size < hidden_dim
    for num_layers, bidirectional, batch_first, bias, proj_size in itertools.product(
        range(1, settings.max_layers + 1), (False, True), (True, False), (True, False), projections
    ):
        case = dict(
            num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias, proj_size=proj_size
        )
        d = compare(case, seed, settings.input_dim, settings.hidden_dim, settings.output_dim)
        rows.append({**case, **d})
        print(
            f"{num_layers:>6} | {str(bidirectional):<13} | {str(batch_first):<11} | {str(bias):<5} | {proj_size:>4} | "
            f"{d['output']:.2e} | "
            f"{d['h_n']:.2e} | {d['c_n']:.2e} | {d['logits']:.2e} | {d['gradients']:.2e}  | "
            f"{largest([d['exported_output'], d['exported_h_n'], d['exported_c_n']]):.2e}"
        )
    equations = one_step_equations(seed, settings.input_dim, settings.hidden_dim)
    keras_diff = keras_difference(seed, settings.input_dim, settings.hidden_dim)
    print(f"\nScanLSTM vs keras.layers.LSTM (given its weights): max |diff| {keras_diff:.2e}")
    worst = largest([*(v for row in rows for v in row.values() if isinstance(v, float)), *equations.values()])
    report.record("grid", rows)
    report.record("one_step_equations", equations)
    over_steps = gate_differences_over_steps(seed, settings.input_dim, settings.hidden_dim)
    report.record("gate_differences_over_steps", over_steps)
    report.plot(plot_gate_differences(over_steps), "per_gate_difference.png")
    worst = largest([worst, *(v for values in over_steps.values() for v in values)])
    print(f"every gate and state over 30 steps: max |diff| {largest(v for vs in over_steps.values() for v in vs):.2e}")
    report.check("max_abs_difference", worst)
    report.check("max_abs_difference_keras", keras_diff)
    write_torch_page(report, seed, settings.input_dim, settings.hidden_dim)
    return report


def write_torch_page(report: Report, seed: int, input_dim: int, hidden_dim: int, steps: int = 30) -> None:
    """inside.html of a two-layer bidirectional ``torch.nn.LSTM`` brought over by `tf_lstm.from_torch`, reading
    random sequences: every layer and direction's gates, which PyTorch's LSTM does not return."""
    import torch

    import tf_lstm

    torch.manual_seed(seed)
    lstm = torch.nn.LSTM(input_dim, hidden_dim, num_layers=2, bidirectional=True, batch_first=True)
    x = np.random.default_rng(seed + 2).normal(size=(16, steps, input_dim)).astype(np.float32)
    model = tf_lstm.from_torch(lstm)
    model(x)
    write_inside_page(
        report, model, x, what="torch.nn.LSTM(num_layers=2, bidirectional=True) via from_torch", input_kind="values"
    )


if __name__ == "__main__":
    protocol.main(__name__)
