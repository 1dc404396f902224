import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest  # noqa: E402

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
