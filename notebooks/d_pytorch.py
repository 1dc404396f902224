# %% [markdown]
# # D: PyTorch's LSTM equations
#
# The article ends with PyTorch's documented equations and `nn.LSTM`. The same model is built here twice, in
# PyTorch and as `tf_lstm.MultiLayerLSTM`, the weights are copied across, and everything is compared.
# It needs the `torch` extra. It is quick, so `QUICK` changes nothing.

# %%
import inspect
import tempfile

from IPython.display import Image, display

import tf_lstm
from reproductions.options import RunOptions
from reproductions.torch_equations import TorchConfig, reproduce

QUICK = True

# %% [markdown]
# PyTorch's documented equations: $i = \sigma(W_{ii}x + b_{ii} + W_{hi}h + b_{hi})$, likewise $f$ and $o$,
# $g = \tanh(W_{ig}x + b_{ig} + W_{hg}h + b_{hg})$, $c' = f c + i g$, $h' = o \tanh(c')$. The same equations
# in tf_lstm's step, blocks in PyTorch's order `ifgo` by default:

# %%
print(inspect.getsource(tf_lstm.lstm_gates))

# %%
run = tempfile.mkdtemp()
report = reproduce(TorchConfig(), RunOptions(run_dir=run))
status = report.finish()

# %%
for name in report.plots:
    display(Image(f"{run}/{name}"))

# %%
assert report.status == "PASS", report.status
largest = max(row["reproduced"] for row in report.rows if isinstance(row["reproduced"], float))
print(f"largest difference from torch.nn.LSTM: {largest:.1e} (float32 rounding)")
assert largest < 1e-5

# %% [markdown]
# **Try next:** bring your own: `tf_lstm.from_torch(torch.nn.LSTM(8, 16, num_layers=2, bidirectional=True))`.
