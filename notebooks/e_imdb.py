# %% [markdown]
# # E: the Theano LSTM tutorial on IMDB
#
# Reviews become token ids, an embedding, an LSTM whose hidden states are averaged over the real (unmasked)
# words, and a softmax. The data comes as the scripts take it (`TF_LSTM_DATA_DIR`, else TensorFlow
# Datasets). `QUICK` trains ScanLSTM alone for 9 epochs (Adadelta leaves chance after about 8) and tests
# on 1,000 reviews.

# %%
import inspect
import tempfile

from IPython.display import Image, display

import tf_lstm
from reproductions.documented import documented
from reproductions.imdb_sentiment import ImdbConfig, reproduce, resolve_imdb_path
from reproductions.options import RunOptions

QUICK = True

# %% [markdown]
# The tutorial's step: $i, f, o = \sigma(x_t W + h U + b)$, $\tilde c = \tanh(\cdot)$, $c' = f c + i \tilde c$,
# $h' = o \tanh(c')$, and a masked word leaves $h$ and $c$ as they were. The mean over the real words is
# `tf_lstm.MaskedMean`. The step, and what a masked step does:

# %%
print(inspect.getsource(tf_lstm.lstm_step)[:3000])
print(inspect.getsource(tf_lstm.steps.keep_where))

# %%
settings = ImdbConfig(layer="scan", max_epochs=9, test_limit=1000) if QUICK else ImdbConfig()
run = tempfile.mkdtemp()
report = reproduce(settings, RunOptions(run_dir=run), imdb_path=resolve_imdb_path(None))
status = report.finish()

# %%
for name in report.plots:
    display(Image(f"{run}/{name}"))

# %%
accuracy = report.results["results"]["scan"]["test_accuracy"]
target = documented("imdb_sentiment", "scan_test_accuracy").documented
print(f"ScanLSTM test accuracy {accuracy:.4f} (target of the full protocol: {target}, within a point of Keras)")
assert accuracy > (0.6 if QUICK else target)

# %% [markdown]
# **Try next:** `ImdbConfig(maxlen=400)` keeps more reviews for training: does the accuracy rise?
