"""IMDB reviews (Maas et al., 2011): TensorFlow Datasets, or the aclImdb folder or tarball."""

from __future__ import annotations

import gzip
import os
import re
import tarfile
import zlib
from pathlib import Path

import numpy as np

SPLITS = ("train", "test")
LABELS = {"neg": 0, "pos": 1}
_MEMBER = re.compile(r"^(?:\./)?aclImdb/(train|test)/(pos|neg)/[^/]+\.txt$")


def _empty():
    return {split: ([], []) for split in SPLITS}


def _read_folder(root: Path):
    if (root / "aclImdb").is_dir():
        root = root / "aclImdb"
    data = _empty()
    for split in SPLITS:
        for name, label in LABELS.items():
            folder = root / split / name
            if not folder.is_dir():
                raise ValueError(f"imdb path {str(root)!r} lacks the aclImdb layout: no folder {split}/{name}/.")
            for file in sorted(folder.glob("*.txt")):
                data[split][0].append(file.read_text(encoding="utf-8"))
                data[split][1].append(label)
    return data


def _read_tarball(path: Path):
    """Reads the reviews straight from the archive: nothing is extracted, so no
    member name can write outside anything (no path traversal)."""
    data = _empty()
    try:
        with tarfile.open(path, "r:*") as archive:
            for member in archive:
                match = _MEMBER.match(member.name)
                if not match or not member.isfile():
                    continue
                handle = archive.extractfile(member)
                if handle is None:  # a regular member (checked above) always has contents
                    continue
                text = handle.read().decode("utf-8")
                split, name = match.groups()
                data[split][0].append(text)
                data[split][1].append(LABELS[name])
    except (tarfile.TarError, OSError, EOFError, zlib.error, gzip.BadGzipFile) as error:
        first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise ValueError(f"imdb path {str(path)!r} is not a readable tar archive: {first_line}") from error
    return data


def load_imdb(*, path: str | os.PathLike | None = None, data_dir: str | None = None):
    """The 25,000 training and 25,000 test reviews with labels (pos = 1, neg = 0).

    Args:
        path: a folder laid out as the official ``aclImdb``
            (``train|test/pos|neg/*.txt``), or a ``.tar.gz`` of it; when None,
            TensorFlow Datasets' ``imdb_reviews`` is used.
        data_dir: TensorFlow Datasets' data directory.

    Returns:
        ``(train_texts, train_labels, test_texts, test_labels)``: lists of str
        and int64 arrays; within a split, reviews come in a fixed order.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: `path` lacks the aclImdb layout, is not a readable
            archive, or a split comes out empty.
    """
    if path is not None:
        path = Path(path)
        if not path.exists():
            raise FileNotFoundError(f"imdb path {str(path)!r} does not exist.")
        data = _read_folder(path) if path.is_dir() else _read_tarball(path)
        source = str(path)
    else:
        import tensorflow_datasets as tfds  # only without a local copy: it takes seconds to import

        data = _empty()
        for split in SPLITS:
            dataset = tfds.load("imdb_reviews", split=split, as_supervised=True, data_dir=data_dir)
            for text, label in tfds.as_numpy(dataset):
                data[split][0].append(text.decode("utf-8"))
                data[split][1].append(int(label))
        source = "TensorFlow Datasets imdb_reviews"
    for split in SPLITS:
        if not data[split][0]:
            raise ValueError(f"no {split} reviews found in {source} (expected aclImdb/{split}/pos|neg/*.txt).")
    return (
        data["train"][0],
        np.asarray(data["train"][1], np.int64),
        data["test"][0],
        np.asarray(data["test"][1], np.int64),
    )
