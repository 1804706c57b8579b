"""Model directories on disk: written whole or not at all, refused when of an unknown format.

A model directory holds the Keras weights (`model.keras`, loaded with safe mode on), any
NumPy exports (`*.npy`, loaded with allow_pickle=False) and `meta.json`:

    {"format": "encore.sequence", "format_version": 1, "created_at": ..., "libraries": {...},
     "data_hash": ..., "hyperparameters": {...}, "metrics": {...}, ...model-specific keys}

Writers fill a temporary sibling directory and rename it into place, so a reader (or a crash)
never sees half a model.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import shutil
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

META_FILE = "meta.json"


class ArtefactError(Exception):
    """A model directory that cannot be used: missing, of another kind, or of an unknown version."""


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version(), "numpy": np.__version__}
    try:  # Keras is optional for readers that only serve NumPy exports.
        import keras

        versions["keras"] = keras.__version__
        versions["keras_backend"] = keras.backend.backend()
    except ImportError:
        pass
    return versions


def hash_files(paths: Iterable[Path]) -> str:
    """A content hash of training inputs, so an unchanged snapshot can skip training."""
    digest = hashlib.sha256()
    for path in sorted(Path(p) for p in paths):
        digest.update(path.name.encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def writing(target: Path | str) -> Iterator[Path]:
    """Yield a temporary directory beside `target`; on success it replaces `target` atomically.

    On failure the temporary directory is removed and any existing `target` is left untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield tmp
        if target.exists():
            # rename() cannot replace a non-empty directory: move the old one aside first.
            old = target.with_name(f".{target.name}.old-{os.getpid()}-{time.time_ns()}")
            target.rename(old)
            tmp.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_meta(directory: Path, fmt: str, version: int, **fields: Any) -> dict[str, Any]:
    meta = {
        "format": fmt,
        "format_version": version,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "libraries": library_versions(),
        **fields,
    }
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True, default=str))
    return meta


def read_meta(directory: Path | str, fmt: str, supported: Iterable[int]) -> dict[str, Any]:
    """Read meta.json, refusing another kind of model or a format version this code can't read."""
    directory = Path(directory)
    path = directory / META_FILE
    if not path.is_file():
        raise ArtefactError(f"{directory} is not a model directory (no {META_FILE})")
    try:
        meta = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtefactError(f"{path} is not valid JSON: {exc}") from None
    if meta.get("format") != fmt:
        raise ArtefactError(f"{directory} holds a {meta.get('format')!r} model, not {fmt!r}")
    supported = sorted(supported)
    if meta.get("format_version") not in supported:
        raise ArtefactError(
            f"{directory} has format version {meta.get('format_version')!r}; this version of "
            f"Encore reads {supported}. Retrain the model to replace it."
        )
    return dict(meta)


def save_arrays(directory: Path, **arrays: np.ndarray) -> None:
    for name, array in arrays.items():
        np.save(directory / f"{name}.npy", np.asarray(array), allow_pickle=False)


def load_array(directory: Path | str, name: str, mmap: bool = False) -> np.ndarray:
    """`mmap`: map the file read-only instead of reading it, so processes that serve the same
    model version share its pages and only the rows they touch are resident."""
    path = Path(directory) / f"{name}.npy"
    if not path.is_file():
        raise ArtefactError(f"{path} is missing")
    return np.load(path, allow_pickle=False, mmap_mode="r" if mmap else None)


class Rows:
    """A saved 2-D array read a row at a time with pread, for per-item lists (neighbours,
    successors) of which a request reads a few dozen rows.

    Memory-mapped, such a file ends up resident in every process that reads it: the kernel
    maps whole page-cache folios around each touched row, so a million items' 200 MB list
    filled each web process after a few hundred requests (bench/realtime.py). Read with pread,
    the rows stay in the page cache, shared, and out of the processes' resident memory.
    """

    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            version = np.lib.format.read_magic(handle)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(handle)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(handle)
            self.offset = handle.tell()
        if len(shape) != 2 or fortran or dtype.hasobject:
            raise ArtefactError(f"{path} is not a C-ordered 2-D array of numbers")
        self.shape, self.dtype = shape, dtype
        self.row_bytes = shape[1] * dtype.itemsize
        self._fd = os.open(path, os.O_RDONLY)

    def __len__(self) -> int:
        return int(self.shape[0])

    def __getitem__(self, key: int | np.integer | np.ndarray) -> np.ndarray:
        if isinstance(key, int | np.integer):
            return self._row(int(key))
        rows = np.asarray(key, dtype=np.int64).reshape(-1)
        out = np.empty((len(rows), self.shape[1]), dtype=self.dtype)
        for n, row in enumerate(rows.tolist()):
            out[n] = self._row(row)
        return out

    def _row(self, row: int) -> np.ndarray:
        if not 0 <= row < self.shape[0]:
            raise IndexError(f"row {row} of {self.shape[0]}")
        data = os.pread(self._fd, self.row_bytes, self.offset + row * self.row_bytes)
        return np.frombuffer(data, dtype=self.dtype)

    def __del__(self) -> None:
        fd = getattr(self, "_fd", None)
        if fd is not None:
            os.close(fd)


def load_rows(directory: Path | str, name: str) -> Rows:
    path = Path(directory) / f"{name}.npy"
    if not path.is_file():
        raise ArtefactError(f"{path} is missing")
    return Rows(path)
