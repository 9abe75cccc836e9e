"""The lean model's trees evaluated by a compiled C library (model/model_trees.so), via ctypes.

The build generates the library from model_lean.npz (`bem.packaging.tree_compiler`) for the
target architecture. It computes each member's raw score (baseline + leaf values, summed tree
by tree in float64, as scikit-learn does); the link, calibration and averaging are the lean
model's own (`LeanModel.proba_from_raw`), so the scores equal the numpy evaluator's and
`predict_proba`'s. The library names the sha256 of the model_lean.npz it was generated from;
a library of another model, ABI or feature count is refused with `CompiledModelError`.
"""

from __future__ import annotations

import ctypes
import hashlib
import io
from pathlib import Path
from typing import Any

import numpy as np

from budget_matcher.lean_model import LeanModel
from budget_matcher.verified_files import load_library, read_regular

LIBRARY_FILE = "model_trees.so"
ABI_VERSION = 2  # 2: rows come feature-major (a Fortran-ordered matrix)
MAX_LIBRARY_BYTES = 64 * 1024 * 1024
MAX_LEAN_BYTES = 256 * 1024 * 1024


# The address of the exp that Python's math.exp calls (the process's C library): the library
# calls it through this pointer, so it needs no libm symbol of its own.
def _libc_exp() -> int | None:
    for name in (None, "libm.so.6"):
        try:
            return ctypes.cast(ctypes.CDLL(name).exp, ctypes.c_void_p).value
        except (OSError, AttributeError):
            continue
    return None


_LIBC_EXP = _libc_exp()


class CompiledModelError(OSError):
    """The compiled library is missing, unloadable or does not belong to the lean model."""


class CompiledModel:
    """Scores rows with the compiled trees and the lean model's link and calibration."""

    def __init__(
        self, lean: LeanModel, library_data: bytes, lean_data: bytes, library: Path
    ) -> None:
        lean_sha256 = hashlib.sha256(lean_data).hexdigest()
        try:
            handle = load_library(library_data, ctypes.RTLD_LOCAL, "bem-trees-")
        except OSError as exc:
            raise CompiledModelError(f"cannot load {library}: {exc}") from exc
        try:
            handle.bem_model_sha256.restype = ctypes.c_char_p
            abi = int(handle.bem_abi_version())
            n_features = int(handle.bem_n_features())
            n_members = int(handle.bem_n_members())
            built_from = (handle.bem_model_sha256() or b"").decode("ascii", "replace")
            raw = handle.bem_raw
            expit = handle.bem_expit
        except AttributeError as exc:
            raise CompiledModelError(f"{library} is not a compiled tree library: {exc}") from exc
        if abi != ABI_VERSION:
            raise CompiledModelError(f"{library} has ABI {abi}, expected {ABI_VERSION}")
        if (n_features, n_members) != (lean.n_features, lean.n_members):
            raise CompiledModelError(
                f"{library} evaluates {n_features} features x {n_members} members; the lean "
                f"model has {lean.n_features} x {lean.n_members}"
            )
        if built_from != lean_sha256:
            raise CompiledModelError(
                f"{library} was generated from model {built_from[:12]}…, not {lean_sha256[:12]}…"
            )
        raw.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p)
        raw.restype = None
        expit.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p)
        expit.restype = None
        self.lean = lean
        self.library = library
        self.lean_path: Path | None = None
        self._bytes = (lean_data, library_data)
        self._raw = raw
        self._expit = expit

    @classmethod
    def load(cls, lean_path: Path, library: Path) -> CompiledModel:
        """The lean model at `lean_path` with its trees from `library` (both read once, the
        library loaded from a private copy of the bytes read)."""
        try:
            lean_data = read_regular(lean_path, MAX_LEAN_BYTES)
            library_data = read_regular(library, MAX_LIBRARY_BYTES)
        except OSError as exc:
            raise CompiledModelError(f"no compiled tree library at {library}: {exc}") from exc
        return cls.from_bytes(lean_data, library_data, lean_path, library)

    @classmethod
    def from_bytes(
        cls,
        lean_data: bytes,
        library_data: bytes,
        lean_path: Path,
        library: Path,
        *,
        trees: bool = True,
    ) -> CompiledModel:
        """The model from artefact bytes already checked against the card: the library is
        loaded from a private copy of exactly those bytes (`verified_files.load_library`);
        where no copy can be written, CompiledModelError (numpy serves), never a load from
        `library`'s path. The paths are kept for messages. `trees=False`: `lean` keeps only
        the link and calibration (the library has the trees; the Lambda's cold start)."""
        if _LIBC_EXP is None:
            raise CompiledModelError("the C library's exp cannot be found in this process")
        lean = LeanModel.load(io.BytesIO(lean_data), trees=trees)
        model = cls(lean, library_data, lean_data, library)
        model.lean_path = lean_path
        return model

    def __reduce__(self) -> tuple[Any, tuple[bytes, bytes, Path, Path]]:
        """Pickled as the bytes it was loaded from (a ctypes handle does not pickle): a worker
        that unpickles it, e.g. a Spark executor, loads those same bytes again."""
        if self.lean_path is None:
            raise TypeError("a CompiledModel built without from_bytes cannot be pickled")
        return (CompiledModel.from_bytes, (*self._bytes, self.lean_path, self.library))

    def raw_scores(self, X: np.ndarray) -> np.ndarray:
        """Each member's raw score per row (n_rows x n_members), computed in C. The library
        reads X feature-major: `compute_features` makes it so, other layouts are copied."""
        X = np.asfortranarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.lean.n_features:
            raise ValueError(f"expected X of shape (n, {self.lean.n_features}), got {X.shape}")
        out = np.empty((X.shape[0], self.lean.n_members), dtype=np.float64)
        if X.shape[0]:
            self._raw(X.ctypes.data, X.shape[0], out.ctypes.data)
        return out

    def expit(self, x: np.ndarray) -> np.ndarray:
        """1 / (1 + exp(-x)) in C with the C library's exp: equal to `exact_expit`."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        out = np.empty_like(x)
        if x.size:
            self._expit(x.ctypes.data, x.size, out.ctypes.data, _LIBC_EXP)
        return out

    def predict_proba_positive(self, X: np.ndarray) -> np.ndarray:
        """Probability of the positive class per row, equal to the numpy evaluator's."""
        return self.lean.proba_from_raw(self.raw_scores(X), self.expit)
