"""`reproductions.training`: the restart-proof batch order and the checkpoint folder's claim."""

import json

import numpy as np
import pytest

from reproductions.cli import UsageError
from reproductions.training import BatchOrder, claim_checkpoints


def test_each_epoch_is_a_permutation_in_whole_batches():
    order = BatchOrder(size=10, batch_size=3, seed=0)
    first_epoch = np.concatenate([order(step) for step in (1, 2, 3)])  # 10 // 3 = 3 whole batches
    assert len(first_epoch) == 9 and len(set(first_epoch.tolist())) == 9
    assert set(first_epoch.tolist()) <= set(range(10))
    second_epoch = np.concatenate([order(step) for step in (4, 5, 6)])
    assert not np.array_equal(first_epoch, second_epoch)


def test_a_restarted_order_gives_the_same_batch_for_the_same_step():
    steps = [7, 2, 7, 11]
    before = [BatchOrder(100, 8, seed=3)(step).tolist() for step in steps]
    again = BatchOrder(100, 8, seed=3)
    assert [again(step).tolist() for step in steps] == before
    assert BatchOrder(100, 8, seed=4)(7).tolist() != before[0]


def test_a_batch_larger_than_the_data_is_refused():
    with pytest.raises(ValueError, match="batch_size=11 is larger than the 10 training examples"):
        BatchOrder(10, 11, seed=0)


def test_claim_checkpoints_claims_a_new_folder_and_refuses_other_settings(tmp_path):
    folder = tmp_path / "checkpoints"
    assert claim_checkpoints(folder, dict(hidden=4, seed=0)) == folder
    assert json.loads((folder / "settings.json").read_text()) == dict(hidden=4, seed=0)
    assert claim_checkpoints(folder, dict(hidden=4, seed=0)) == folder  # the same run resumes
    with pytest.raises(UsageError, match=r"other settings .*'hidden': \(4, 8\)"):
        claim_checkpoints(folder, dict(hidden=8, seed=0))


def test_claim_checkpoints_refuses_a_folder_of_someone_elses_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(UsageError, match="not this reproduction's checkpoints"):
        claim_checkpoints(tmp_path, dict(hidden=4))
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
