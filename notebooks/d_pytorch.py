# %% [markdown]
# # D: PyTorch's LSTM equations
#
# The article ends with PyTorch's documented equations and `nn.LSTM`. The same model is built here twice, in
# PyTorch and as `tf_lstm.MultiLayerLSTM`, the weights are copied across, and everything is compared.
# It needs the `torch` extra. It is quick, so `QUICK` changes nothing.

# %%
import tempfile

from IPython.display import Image, display

from reproductions.torch_equations import TorchConfig, reproduce

QUICK = True

# %%
run = tempfile.mkdtemp()
report = reproduce(TorchConfig(), run_dir=run)
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
