"""MNIST: TensorFlow Datasets by default, or the four original IDX files."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import numpy as np

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_IMAGES_MAGIC, _LABELS_MAGIC = 2051, 2049


def _find(directory: Path, stem: str) -> Path:
    for candidate in (directory / f"{stem}.gz", directory / stem):
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(
        f"MNIST file {stem}[.gz] not found in path={str(directory)!r} "
        f"(expected the four original IDX files, gzipped or not)."
    )


def _read_bytes(path: Path) -> bytes:
    if path.suffix == ".gz":
        try:
            with gzip.open(path, "rb") as handle:
                return handle.read()
        except (OSError, EOFError) as error:
            raise ValueError(f"{path} is not a valid gzip file: {error}") from error
    return path.read_bytes()


def read_idx(path: str | os.PathLike, expected_magic: int) -> np.ndarray:
    """Reads one IDX file (images: magic 2051, labels: 2049), checking its header and size.

    Raises:
        ValueError: naming the file, when the magic number, the header or the
            size is wrong (a truncated file, say).
    """
    path = Path(path)
    data = _read_bytes(path)
    if len(data) < 8:
        raise ValueError(f"{path} is too short to be an IDX file ({len(data)} bytes).")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise ValueError(f"{path} has magic number {magic}, expected {expected_magic} for this IDX file.")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path} is truncated inside its header ({len(data)} bytes).")
    shape = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(ndim))
    expected = header + int(np.prod(shape))
    if len(data) != expected:
        raise ValueError(
            f"{path} holds {len(data)} bytes, expected {expected} for shape {shape} "
            f"({'truncated' if len(data) < expected else 'trailing data'})."
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


def write_idx(path: str | os.PathLike, array: np.ndarray) -> None:
    """Writes a uint8 array as an IDX file (gzipped if `path` ends in .gz); for tests and tools."""
    array = np.asarray(array, dtype=np.uint8)
    magic = {1: _LABELS_MAGIC, 3: _IMAGES_MAGIC}[array.ndim]
    payload = magic.to_bytes(4, "big") + b"".join(int(n).to_bytes(4, "big") for n in array.shape) + array.tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(payload)


def load_mnist(split: str = "train", *, path: str | os.PathLike | None = None, data_dir: str | None = None):
    """MNIST images as float32 in [0, 1], ``[n, 28, 28]``, and int64 labels ``[n]``.

    Args:
        split: ``"train"`` (60,000) or ``"test"`` (10,000).
        path: a folder with the original IDX files (``train-images-idx3-ubyte``
            …, gzipped or not), read here; when None, TensorFlow Datasets
            (``tfds.load("mnist")``) is used.
        data_dir: TensorFlow Datasets' data directory.

    Raises:
        ValueError: an unknown split, or a malformed file (named).
        FileNotFoundError: `path` lacks one of the files.
    """
    if split not in _FILES:
        raise ValueError(f"split must be 'train' or 'test', got split={split!r}.")
    if path is not None:
        directory = Path(path)
        if not directory.is_dir():
            raise FileNotFoundError(f"MNIST directory path={str(directory)!r} does not exist.")
        images_stem, labels_stem = _FILES[split]
        images = read_idx(_find(directory, images_stem), _IMAGES_MAGIC)
        labels = read_idx(_find(directory, labels_stem), _LABELS_MAGIC)
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(f"MNIST files in {directory} disagree: images {images.shape}, labels {labels.shape}.")
    else:
        import tensorflow_datasets as tfds  # only without a local copy: it takes seconds to import

        dataset = tfds.load("mnist", split=split, as_supervised=True, data_dir=data_dir)
        batches = list(tfds.as_numpy(dataset.batch(10_000)))
        if not batches:
            raise ValueError(f"TensorFlow Datasets' mnist split={split!r} is empty.")
        images = np.concatenate([b[0] for b in batches])[..., 0]
        labels = np.concatenate([b[1] for b in batches])
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)
