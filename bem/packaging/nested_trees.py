"""Nested-if C code for any lean model: the compiled trees' fallback scheme (build time only).

One function of nested comparisons per tree: a split `x <= threshold` with missing values going
left becomes `!(x > t)` (true for NaN), going right `x <= t` (false for NaN), so NaN needs no
branch of its own. Rows are copied in blocks (imputer fill applied) and evaluated tree by tree,
so a tree's code stays hot; the leaf values are added to the baseline in tree order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

CDouble = Callable[[float], str]
# Rows evaluated tree by tree in one block: a block's copy of the rows is about this many
# bytes, on the stack.
BLOCK_BYTES = 32768


def _tree_body(
    c_double: CDouble, arrays: dict[str, np.ndarray], node: int, depth: int
) -> list[str]:
    """Nested if/else of the subtree at `node` (global index), returning its leaf value."""
    pad = "    " * depth
    left, right = int(arrays["node_left"][node]), int(arrays["node_right"][node])
    if left == node:
        return [f"{pad}return {c_double(float(arrays['node_value'][node]))};"]
    column = int(arrays["node_feature"][node])
    threshold = c_double(float(arrays["node_threshold"][node]))
    if bool(arrays["node_missing_left"][node]):
        test = f"!(x[{column}] > {threshold})"
    else:
        test = f"x[{column}] <= {threshold}"
    return [
        f"{pad}if ({test}) {{",
        *_tree_body(c_double, arrays, left, depth + 1),
        f"{pad}}} else {{",
        *_tree_body(c_double, arrays, right, depth + 1),
        f"{pad}}}",
    ]


def generate_raw(
    arrays: dict[str, np.ndarray], meta: dict[str, Any], c_double: CDouble
) -> list[str]:
    """C lines of one nested-if function per tree and of `bem_raw` calling them row by row
    (N_FEATURES, N_MEMBERS and EXPORT come from the caller; `c_double` spells a double)."""
    n_features = int(meta["n_features"])
    fill = np.asarray(arrays["impute_fill"], dtype=np.float64)
    lines = [f"#define BLOCK_ROWS {max(16, BLOCK_BYTES // (8 * max(n_features, 1)))}"]
    for tree, root in enumerate(int(r) for r in arrays["tree_root"]):
        lines.append(f"static double tree_{tree}(const double *x) {{")
        lines.extend(_tree_body(c_double, arrays, root, 1))
        lines.append("}")
    lines += [
        "",
        "/* out[r * N_MEMBERS + m] = baseline_m + tree_0(x_r) + tree_1(x_r) + ... (in order); X is",
        "   feature-major: feature f of row r at X[f * n_rows + r]. */",
        "EXPORT void bem_raw(const double *X, size_t n_rows, double *out) {",
        "    double rows[BLOCK_ROWS * N_FEATURES];",
        "    double sums[BLOCK_ROWS];",
        "    for (size_t start = 0; start < n_rows; start += BLOCK_ROWS) {",
        "        size_t n = n_rows - start < BLOCK_ROWS ? n_rows - start : BLOCK_ROWS;",
        "        for (size_t r = 0; r < n; ++r) {",
        "            double *x = rows + r * N_FEATURES;",
        "            for (int f = 0; f < N_FEATURES; ++f) x[f] = X[f * n_rows + start + r];",
    ]
    for column in np.flatnonzero(~np.isnan(fill)):
        value = c_double(float(fill[column]))
        lines.append(f"            if (isnan(x[{column}])) x[{column}] = {value};")
    lines.append("        }")
    tree = 0
    for index, spec in enumerate(meta["members"]):
        baseline = c_double(float(arrays["member_baseline"][index]))
        lines.append(f"        for (size_t r = 0; r < n; ++r) sums[r] = {baseline};")
        for _ in range(int(spec["n_trees"])):
            lines.append(
                f"        for (size_t r = 0; r < n; ++r) "
                f"sums[r] += tree_{tree}(rows + r * N_FEATURES);"
            )
            tree += 1
        lines.append(
            f"        for (size_t r = 0; r < n; ++r) out[(start + r) * N_MEMBERS + {index}]"
            " = sums[r];"
        )
    lines += ["    }", "}"]
    return lines
