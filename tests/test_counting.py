import json
import subprocess
import sys

import keras
import numpy as np
import pytest

from reproductions.counting_rnn import train
from tests.conftest import ROOT
from tf_lstm.data import counting_data
from tf_lstm.reference import linear_rnn_reference


def test_data_and_initial_weights_are_the_articles():
    x, y, w_x, w_rec = counting_data()
    assert x.shape == (20, 10) and set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(y, x.sum(axis=1))
    assert round(w_x, 4) == 0.0900 and round(w_rec, 4) == 0.0113


def test_first_gd_costs_are_the_articles():
    x, y, w_x, w_rec = counting_data()
    costs, _, _ = train(lambda: keras.optimizers.SGD(1e-5), x, y, w_x, w_rec, epochs=100)
    # The loss before the first update is that of the initial weights.
    expected_first = np.sum((y - linear_rnn_reference(x, w_x, w_rec)) ** 2)
    np.testing.assert_allclose(costs[0], expected_first, rtol=1e-5)
    np.testing.assert_allclose(costs[99], 529.6915, rtol=1e-4)


@pytest.mark.slow
def test_full_reproduction_passes(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "reproductions.counting_rnn", f"--output_dir={tmp_path}"],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    report = json.loads((tmp_path / "counting_rnn" / "report.json").read_text())
    assert report["passed"] and len(report["figures"]) >= 18
    assert (tmp_path / "counting_rnn" / "loss_curves.png").stat().st_size > 10_000
