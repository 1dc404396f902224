# %% [markdown]
# # B: a linear RNN that learns to count
#
# The article trains the simplest recurrent network, $s_k = x_k w_x + s_{k-1} w_{rec}$, to count the ones in
# a binary sequence, with Theano's `scan`. Here the same step runs in `tf_lstm.ScanRNN`: a step function
# scanned over time. Set `QUICK = False` for the article's full protocol (it is short either way).

# %%
import inspect
import tempfile

from IPython.display import Image, display

import tf_lstm
from reproductions.counting_rnn import CountingConfig, reproduce
from reproductions.documented import documented
from reproductions.options import RunOptions

QUICK = True

# %% [markdown]
# The step function, beside the article's equation $s_k = x_k w_x + s_{k-1} w_{rec}$:

# %%
print(inspect.getsource(tf_lstm.linear_rnn_step))

# %% [markdown]
# Training: 2,001 full-batch updates of gradient descent (learning rate 1e-5) and of the article's RMSProp
# (1e-3), each cost printed as the article prints it and judged to its printed digits.

# %%
settings = CountingConfig(epochs=2001 if QUICK else 2001)
run = tempfile.mkdtemp()
report = reproduce(settings, RunOptions(run_dir=run))
status = report.finish()

# %% [markdown]
# The documented figures beside the reproduced ones, and the pictures:

# %%
for row in report.rows[:6]:
    print(
        f"{row['figure']:<45} documented {row['documented']!s:<10} reproduced {row['reproduced']!s:<22} {row['result']}"
    )
for name in report.plots:
    display(Image(f"{run}/{name}"))

# %%
assert report.status == "PASS", report.status
gd_final = report.results["gd_float32"]["final_wx"]
assert documented("counting_rnn", "gd_final_wx").passes(gd_final)  # the article's 1.0597, to its printed digits

# %% [markdown]
# **Try next:** `CountingConfig(gd_learning_rate=5e-4)` is 50 times the article's rate: the cost overflows,
# and the run says at which update it diverged.
