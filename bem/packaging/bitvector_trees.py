"""QuickScorer tables and C code for models whose trees have at most 64 leaves (build time only).

Each tree's leaves are numbered left to right; a row's state per tree is a bitvector of its
leaves, all ones at first. An internal node's mask has zeros on the leaves of its left subtree:
when its test sends the row right (a "false" node), the state is ANDed with the mask. After all
false nodes the exit leaf is the lowest set bit.

Tests become integer compares: per feature, the sorted distinct thresholds of its nodes; a
value's bin is the number of thresholds strictly below it, so `x > T_i` exactly when
`bin(x) > i` (±inf included). Each feature has two node lists sorted by threshold index: nodes
that send NaN left (NaN has bin 0: never false) and nodes that send it right (NaN has a bin
above every index: always false). A block of rows walks each list until the index reaches the
block's largest bin, with the state laid out tree by row so the loop over the block's rows
vectorises. The rows come feature-major (one column after another), as the features are made.
The leaf values are then added to the baseline tree by tree, in float64, in
scikit-learn's order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

# Rows scored together per instruction set: the state is n_trees x block bitvectors (16 rows
# of 300 trees' state fit a 32 KB L1 cache; AVX-512's lanes pay off at 32).
BLOCKS = {"baseline": 16, "avx2": 16, "avx512": 32}
MAX_LEAVES = 64


@dataclass
class _Tables:
    """The flattened tables of the generated C: per-feature thresholds and node lists, and
    per-tree leaf values, each list indexed by its `*_start` offsets."""

    thresholds: list[float] = field(default_factory=list)
    threshold_start: list[int] = field(default_factory=lambda: [0])
    nodes: list[tuple[int, int, int]] = field(default_factory=list)  # (mask, tree, index)
    list_start: list[int] = field(default_factory=lambda: [0])
    leaf_values: list[float] = field(default_factory=list)
    leaf_start: list[int] = field(default_factory=list)


def _is_leaf(arrays: dict[str, np.ndarray], node: int) -> bool:
    return int(arrays["node_left"][node]) == node


def _walk(
    arrays: dict[str, np.ndarray], node: int, leaves: list[int], splits: list[tuple[int, int]]
) -> None:
    """Append the subtree's leaves in order, and (node, mask of left-subtree leaves) per split."""
    if _is_leaf(arrays, node):
        leaves.append(node)
        return
    first = len(leaves)
    _walk(arrays, int(arrays["node_left"][node]), leaves, splits)
    left_bits = ((1 << (len(leaves) - first)) - 1) << first
    splits.append((node, left_bits))
    _walk(arrays, int(arrays["node_right"][node]), leaves, splits)


def tree_leaf_counts(arrays: dict[str, np.ndarray]) -> list[int]:
    """The number of leaves of each tree."""
    counts = []
    for root in arrays["tree_root"]:
        leaves: list[int] = []
        _walk(arrays, int(root), leaves, [])
        counts.append(len(leaves))
    return counts


def fits(arrays: dict[str, np.ndarray]) -> bool:
    """Whether every tree has at most MAX_LEAVES leaves (one uint64 bitvector per tree)."""
    return max(tree_leaf_counts(arrays), default=1) <= MAX_LEAVES


def _tables(arrays: dict[str, np.ndarray], n_features: int, width: int) -> _Tables:
    all_ones = (1 << width) - 1
    per_feature: list[list[tuple[int, int, int, bool]]] = [[] for _ in range(n_features)]
    tables = _Tables()
    for tree, root in enumerate(arrays["tree_root"]):
        leaves: list[int] = []
        splits: list[tuple[int, int]] = []
        _walk(arrays, int(root), leaves, splits)
        tables.leaf_start.append(len(tables.leaf_values))
        tables.leaf_values.extend(float(arrays["node_value"][leaf]) for leaf in leaves)
        for node, left_bits in splits:
            column = int(arrays["node_feature"][node])
            missing_left = bool(arrays["node_missing_left"][node])
            per_feature[column].append((node, tree, all_ones & ~left_bits, missing_left))
    for entries in per_feature:
        cuts = np.unique(np.asarray([arrays["node_threshold"][e[0]] for e in entries], float))
        tables.thresholds.extend(float(c) for c in cuts)
        tables.threshold_start.append(len(tables.thresholds))
        for missing_left in (True, False):
            chosen = [
                (int(np.searchsorted(cuts, arrays["node_threshold"][node])), tree, mask)
                for node, tree, mask, left in entries
                if left == missing_left
            ]
            tables.nodes.extend((mask, tree, index) for index, tree, mask in sorted(chosen))
            tables.list_start.append(len(tables.nodes))
    return tables


def _array(ctype: str, name: str, values: list[str], per_line: int = 8) -> list[str]:
    lines = [f"static const {ctype} {name}[{max(len(values), 1)}] = {{"]
    for start in range(0, len(values), per_line):
        lines.append("    " + ", ".join(values[start : start + per_line]) + ",")
    if not values:
        lines.append("    0")
    lines.append("};")
    return lines


def generate_raw(
    arrays: dict[str, np.ndarray], meta: dict[str, Any], c_double: Callable[[float], str]
) -> list[str]:
    """C lines of the tables and of `bem_raw` (the header, N_FEATURES, N_MEMBERS and EXPORT
    come from the caller; `c_double` spells a double exactly)."""
    n_features = int(meta["n_features"])
    width = 32 if max(tree_leaf_counts(arrays), default=1) <= 32 else 64
    tables = _tables(arrays, n_features, width)
    n_trees = len(tables.leaf_start)
    suffix = "u" if width == 32 else "ull"
    member_first = [0]
    for spec in meta["members"]:
        member_first.append(member_first[-1] + int(spec["n_trees"]))
    fill = [c_double(float(v)) for v in arrays["impute_fill"]]
    baselines = [c_double(float(v)) for v in arrays["member_baseline"]]
    ctz = "__builtin_ctz" if width == 32 else "__builtin_ctzll"
    lines = [
        "#include <stdint.h>",
        "#include <string.h>",
        f"typedef uint{width}_t bits_t;",
        f"typedef int{width}_t bin_t;",
        f"#define MAX_BLOCK {max(BLOCKS.values())}",
        *(f"#define BLOCK_{isa.upper()} {rows}" for isa, rows in BLOCKS.items()),
        f"#define SIGN_SHIFT {width - 1}",
        f"#define N_TREES {n_trees}",
        "struct qs_node { bits_t mask; int32_t tree; int32_t index; };",
        *_array("double", "fill", fill, 4),
        *_array("double", "member_baseline", baselines, 4),
        *_array("int32_t", "member_first", [str(v) for v in member_first], 16),
        *_array("double", "thresholds", [c_double(v) for v in tables.thresholds], 4),
        *_array("int32_t", "threshold_start", [str(v) for v in tables.threshold_start], 16),
        *_array("int32_t", "list_start", [str(v) for v in tables.list_start], 16),
        *_array("double", "leaf_value", [c_double(v) for v in tables.leaf_values], 4),
        *_array("int32_t", "leaf_start", [str(v) for v in tables.leaf_start], 16),
        *_array(
            "struct qs_node",
            "nodes",
            [f"{{{hex(m)}{suffix}, {t}, {i}}}" for m, t, i in tables.nodes],
            4,
        ),
        _C_RAW.replace("CTZ", ctz),
    ]
    return lines


_C_RAW = r"""
#define INLINE static inline __attribute__((always_inline))

/* bins[r] = the number of cuts strictly below x[r] (NaN: 0): branch-free binary searches,
   one step for all the block's rows at a time (independent loads). */
INLINE void bin_block(const double *cut, size_t n, const double *x, bin_t *bins, const int block) {
    size_t low[MAX_BLOCK];
    for (int r = 0; r < block; ++r) low[r] = 0;
    for (; n > 0; n /= 2) {
        size_t half = n / 2;
        /* a select of two values, not `low[r] += ...`: gcc turns that into a branch */
        for (int r = 0; r < block; ++r)
            low[r] = cut[low[r] + half] < x[r] ? low[r] + n - half : low[r];
    }
    for (int r = 0; r < block; ++r) bins[r] = (bin_t)low[r];
}

/* AND the mask of each false node of one list (sorted by threshold index) into the state
   (tree t's bitvectors of the block's rows at state[t * block]). */
INLINE void mask_false(const struct qs_node *node, const struct qs_node *end,
                       const bin_t *restrict bins, bits_t *restrict state, const int block) {
    bin_t bin[MAX_BLOCK], top = 0;
    for (int r = 0; r < block; ++r) {
        bin[r] = bins[r];
        top = bin[r] > top ? bin[r] : top;
    }
    for (; node < end && node->index < top; ++node) {
        bits_t *restrict v = state + (size_t)node->tree * block;
        const bits_t mask = node->mask;
        const bin_t above = node->index + 1;
        /* bin - above >> (width - 1): all ones where bin <= index (the node is true), else 0;
           an arithmetic shift, which vectorises better than a select. */
        for (int r = 0; r < block; ++r) v[r] &= mask | (bits_t)((bin[r] - above) >> SIGN_SHIFT);
    }
}

/* out[r * N_MEMBERS + m] = baseline_m + the member's trees' leaf values (in tree order); X is
   feature-major: feature f of row r at X[f * n_rows + r]. */
INLINE void raw_rows(const double *X, size_t n_rows, double *out, const int block) {
    bits_t state[N_TREES * MAX_BLOCK];
    bin_t nan_left[MAX_BLOCK], nan_right[MAX_BLOCK];
    double x[MAX_BLOCK], sums[MAX_BLOCK];
    for (size_t start = 0; start < n_rows; start += block) {
        size_t n = n_rows - start < (size_t)block ? n_rows - start : (size_t)block;
        memset(state, 0xff, sizeof(bits_t) * N_TREES * block);
        for (int f = 0; f < N_FEATURES; ++f) {
            const struct qs_node *first = nodes + list_start[2 * f];
            const struct qs_node *middle = nodes + list_start[2 * f + 1];
            const struct qs_node *end = nodes + list_start[2 * f + 2];
            const double *cut = thresholds + threshold_start[f];
            const double *column = X + (size_t)f * n_rows + start;
            size_t n_cuts = (size_t)(threshold_start[f + 1] - threshold_start[f]);
            if (first == end) continue;
            for (size_t r = 0; r < (size_t)block; ++r) {
                x[r] = r < n ? column[r] : -INFINITY;
                if (isnan(x[r])) x[r] = fill[f];
            }
            bin_block(cut, n_cuts, x, nan_left, block);
            for (int r = 0; r < block; ++r)
                nan_right[r] = isnan(x[r]) ? (bin_t)n_cuts : nan_left[r];
            mask_false(first, middle, nan_left, state, block);
            mask_false(middle, end, nan_right, state, block);
        }
        for (int m = 0; m < N_MEMBERS; ++m) {
            for (int r = 0; r < block; ++r) sums[r] = member_baseline[m];
            for (int t = member_first[m]; t < member_first[m + 1]; ++t) {
                const double *leaf = leaf_value + leaf_start[t];
                const bits_t *v = state + (size_t)t * block;
                for (int r = 0; r < block; ++r) sums[r] += leaf[CTZ(v[r])];
            }
            for (size_t r = 0; r < n; ++r) out[(start + r) * N_MEMBERS + m] = sums[r];
        }
    }
}

/* The same code for the target's baseline instruction set and, on x86-64, for AVX2 and
   AVX-512 (integer lanes two and four times as wide; the float64 additions are the same IEEE
   operations in the same order, so every variant gives the same bits). `bem_raw` runs the
   widest this CPU has; `bem_raw_variant` runs one named variant (the build proves each). */
static void raw_baseline(const double *X, size_t n, double *out) {
    raw_rows(X, n, out, BLOCK_BASELINE);
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) static void raw_avx2(const double *X, size_t n, double *out) {
    raw_rows(X, n, out, BLOCK_AVX2);
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx2")))
static void raw_avx512(const double *X, size_t n, double *out) {
    raw_rows(X, n, out, BLOCK_AVX512);
}
#endif

/* Bit v set: this CPU runs variant v (0 baseline, 1 AVX2, 2 AVX-512). Asked of the CPU once
   per process and kept in a static (0 = not asked yet; the answer always has bit 0 set): every
   caller computes the same value, so a race between two first calls is harmless. */
EXPORT int bem_raw_variants(void) {
    static int known = 0;
    int variants = __atomic_load_n(&known, __ATOMIC_RELAXED);
    if (variants) return variants;
    variants = 1;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2")) variants |= 2;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2"))
        variants |= 4;
#endif
    __atomic_store_n(&known, variants, __ATOMIC_RELAXED);
    return variants;
}

/* Variant v's raw sums; nothing is written when this CPU cannot run it. */
EXPORT void bem_raw_variant(int v, const double *X, size_t n_rows, double *out) {
    if (v < 0 || v > 2 || !(bem_raw_variants() & (1 << v))) return;
#if defined(__x86_64__)
    if (v == 2) { raw_avx512(X, n_rows, out); return; }
    if (v == 1) { raw_avx2(X, n_rows, out); return; }
#endif
    raw_baseline(X, n_rows, out);
}

EXPORT void bem_raw(const double *X, size_t n_rows, double *out) {
    int variants = bem_raw_variants();
    bem_raw_variant(variants & 4 ? 2 : variants & 2 ? 1 : 0, X, n_rows, out);
}
"""
