"""RFC 6962 Merkle trees: known answers (the transparency-dev/merkle reference vectors), an independent
implementation (pymerkle) for roots, and every proof of small trees checked by the RFC 9162 verifiers."""

from __future__ import annotations

import pytest
from pymerkle import InmemoryTree

from services.kernel import merkle

pytestmark = pytest.mark.unit

LEAVES = [
    bytes.fromhex(h)
    for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f")
]
HASHED = [merkle.leaf_hash(leaf) for leaf in LEAVES]
ROOT_8 = "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
INCLUSION = {  # (size, index): proof, from the reference vectors
    (1, 0): "",
    (2, 0): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
    (3, 2): "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    (5, 1): "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    (8, 5): "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
}
CONSISTENCY = {  # (old, new): proof
    (1, 8): "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
    (2, 5): "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
    (6, 8): "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"
    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
}


def frontier(size: int, leaves: list[bytes] = HASHED) -> list[bytes]:
    return merkle.extend([], 0, leaves[:size])[0]


def test_known_root_and_proofs() -> None:
    assert merkle.root(HASHED).hex() == ROOT_8
    assert merkle.root([]) == merkle.EMPTY_ROOT
    for (size, index), proof in INCLUSION.items():
        assert b"".join(merkle.inclusion_proofs(HASHED[:size], [index])[index]).hex() == proof
    for (old, new), proof in CONSISTENCY.items():
        assert b"".join(merkle.consistency_proof(frontier(old), old, HASHED[old:new])).hex() == proof


def test_roots_agree_with_pymerkle() -> None:
    leaves = [bytes([i % 251]) * (i % 7 + 1) for i in range(70)]
    reference = InmemoryTree()
    for size, leaf in enumerate(leaves, start=1):
        reference.append_entry(leaf)
        assert merkle.root([merkle.leaf_hash(x) for x in leaves[:size]]) == reference.get_root(size)


def test_every_proof_of_small_trees_verifies_and_a_wrong_one_does_not() -> None:
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(33)]
    roots = [merkle.root(leaves[:n]) for n in range(34)]
    for new in range(1, 34):
        proofs = merkle.inclusion_proofs(leaves[:new], range(new))
        for index, path in proofs.items():
            assert merkle.root_from_inclusion(index, new, leaves[index], path) == roots[new]
            assert merkle.root_from_inclusion(index, new, leaves[(index + 1) % 33], path) != roots[new]
        for old in range(new + 1):
            proof = merkle.consistency_proof(frontier(old, leaves), old, leaves[old:new])
            assert merkle.verify_consistency(old, new, roots[old], roots[new], proof), (old, new)
            if 0 < old < new:
                assert not merkle.verify_consistency(old, new, roots[old - 1], roots[new], proof)
                assert not merkle.verify_consistency(old, new, roots[old], roots[new - 1], proof)


def test_a_rewritten_prefix_is_inconsistent() -> None:
    honest = [merkle.leaf_hash(bytes([i])) for i in range(10)]
    forked = [*honest[:4], merkle.leaf_hash(b"forged"), *honest[5:]]
    proof = merkle.consistency_proof(frontier(7, forked), 7, forked[7:])
    assert not merkle.verify_consistency(7, 10, merkle.root(honest[:7]), merkle.root(forked), proof)
    assert not merkle.verify_consistency(8, 7, merkle.root(honest[:8]), merkle.root(honest[:7]), [])
