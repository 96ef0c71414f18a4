"""RFC 6962 (RFC 9162 § 2.1) Merkle trees over event hashes: roots, compact ranges, inclusion and consistency proofs.

Leaves are byte strings (here: an event's chain hash); ``leaf_hash(d) = SHA-256(0x00 || d)``, an inner node is
``SHA-256(0x01 || left || right)`` and the tree of ``n`` leaves splits at the largest power of two below ``n``.

A **compact range** (``frontier``) of a tree of size ``n`` is the list of roots of its maximal perfect subtrees, left
to right (one per set bit of ``n``): it gives the root of size ``n`` and is all one needs, with the leaves that came
after, to extend the tree, compute the new root and prove consistency from ``n`` to a larger size. A checkpoint keeps
it, so neither the node nor a witness ever re-reads the whole log.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

EMPTY_ROOT = hashlib.sha256(b"").digest()  # MTH({}) = SHA-256()


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data)."""
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two strictly below ``n`` (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def append_leaf(frontier: list[bytes], size: int, hashed_leaf: bytes) -> int:
    """Add one (already leaf-hashed) leaf to the compact range of a tree of ``size`` leaves, in place; the new size."""
    node, bits = hashed_leaf, size
    while bits & 1:
        node = node_hash(frontier.pop(), node)
        bits >>= 1
    frontier.append(node)
    return size + 1


def extend(frontier: Sequence[bytes], size: int, hashed_leaves: Iterable[bytes]) -> tuple[list[bytes], int]:
    """The compact range and size after ``hashed_leaves`` are appended (the input is not changed)."""
    out = list(frontier)
    for leaf in hashed_leaves:
        size = append_leaf(out, size, leaf)
    return out, size


def root_of_frontier(frontier: Sequence[bytes]) -> bytes:
    """The root of the tree whose compact range is ``frontier``."""
    if not frontier:
        return EMPTY_ROOT
    root = frontier[-1]
    for left in reversed(frontier[:-1]):
        root = node_hash(left, root)
    return root


def root(hashed_leaves: Sequence[bytes]) -> bytes:
    """The root of a tree of (already leaf-hashed) leaves."""
    return root_of_frontier(extend([], 0, hashed_leaves)[0])


def _frontier_ranges(size: int) -> list[tuple[int, int]]:
    """[start, end) of each subtree of the compact range of ``size``, left to right."""
    ranges, start = [], 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            ranges.append((start, start + (1 << bit)))
            start += 1 << bit
    return ranges


class _Subtrees:
    """MTH of any aligned range of a tree whose first ``old`` leaves are known only by their compact range and
    whose later leaves are given (leaf-hashed); memoised, so many proofs over one batch cost O(leaves)."""

    def __init__(self, old_frontier: Sequence[bytes], old: int, new_leaves: Sequence[bytes]) -> None:
        self.known = dict(zip(_frontier_ranges(old), old_frontier, strict=True))
        self.old, self.new = old, new_leaves
        self.memo: dict[tuple[int, int], bytes] = {}

    def __call__(self, lo: int, hi: int) -> bytes:
        if (lo, hi) in self.known:
            return self.known[(lo, hi)]
        if lo < self.old:
            raise ValueError(f"range [{lo}, {hi}) is not in the compact range of size {self.old}")
        if (lo, hi) not in self.memo:
            if hi - lo == 1:
                self.memo[(lo, hi)] = self.new[lo - self.old]
            else:
                k = _split(hi - lo)
                self.memo[(lo, hi)] = node_hash(self(lo, lo + k), self(lo + k, hi))
        return self.memo[(lo, hi)]


def consistency_proof(old_frontier: Sequence[bytes], old: int, new_leaves: Sequence[bytes]) -> list[bytes]:
    """RFC 6962 PROOF(m, D[n]) from size ``old`` (m) to ``old + len(new_leaves)`` (n), from the compact range of m
    and the leaves after it (every node of the proof lies in one or the other)."""
    n = old + len(new_leaves)
    if old == 0 or old == n:
        return []
    mth = _Subtrees(old_frontier, old, new_leaves)
    return _subproof(old, 0, n, True, mth)


def _subproof(m: int, lo: int, hi: int, complete: bool, mth: Callable[[int, int], bytes]) -> list[bytes]:
    """SUBPROOF(m, D[lo:hi], b) of RFC 6962 § 2.1.2, with m relative to ``lo``."""
    if m == hi - lo:
        return [] if complete else [mth(lo, hi)]
    k = _split(hi - lo)
    if m <= k:
        return [*_subproof(m, lo, lo + k, complete, mth), mth(lo + k, hi)]
    return [*_subproof(m - k, lo + k, hi, False, mth), mth(lo, lo + k)]


def verify_consistency(old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]) -> bool:
    """RFC 9162 § 2.1.4.2: whether ``proof`` shows the tree of size ``new`` extends the one of size ``old``."""
    if old > new:
        return False
    if old == new:
        return not proof and old_root == new_root
    if old == 0:
        return not proof  # the empty tree is a prefix of every tree
    path = list(proof)
    if old & (old - 1) == 0:  # an exact power of two: the old root is itself a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return fr == old_root and sr == new_root and sn == 0


def inclusion_proofs(hashed_leaves: Sequence[bytes], indexes: Iterable[int]) -> dict[int, list[bytes]]:
    """RFC 6962 PATH(m, D[n]) for each index of a tree given by all its leaves (a batch: computed once, shared)."""
    mth = _Subtrees([], 0, hashed_leaves)
    n = len(hashed_leaves)

    def path(m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo <= 1:
            return []
        k = _split(hi - lo)
        if m < k:
            return [*path(m, lo, lo + k), mth(lo + k, hi)]
        return [*path(m - k, lo + k, hi), mth(lo, lo + k)]

    return {i: path(i, 0, n) for i in indexes}


def root_from_inclusion(index: int, size: int, hashed_leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """RFC 9162 § 2.1.3.2: the root that ``proof`` leads to from the leaf at ``index`` (None: malformed proof)."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, hashed_leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return r if sn == 0 else None
