import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

from tf_lstm.distribute import split_cpu  # noqa: E402

# Two logical CPUs, so MirroredStrategy has two replicas here (tests/test_distribute.py);
# it must happen before TensorFlow's first op. Ops go to /cpu:0 unless a test says otherwise.
split_cpu(2)
LOGICAL_CPUS = ["/cpu:0", "/cpu:1"]

ROOT = pathlib.Path(__file__).resolve().parents[1]


def shared_data_dir() -> pathlib.Path | None:
    """The real datasets (../shared/data), when this machine has them."""
    candidate = os.environ.get("TF_LSTM_DATA_DIR") or ROOT.parent / "shared" / "data"
    candidate = pathlib.Path(candidate)
    return candidate if candidate.is_dir() else None


@pytest.fixture
def data_dir() -> pathlib.Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("the real datasets (../shared/data or $TF_LSTM_DATA_DIR) are not on this machine")
    return path
