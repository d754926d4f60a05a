"""Random streams derived from the run seed (DESIGN rule 5: common random numbers).

Each source of randomness has its own stream, named, so that adding draws to one source never
shifts another. Claims draw from uniforms keyed by the claim itself: the same claim gets the
same patience, handling time and loss under every plan, whatever order the operation serves it in.
"""

from __future__ import annotations

import zlib

import numpy as np


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_SLOT_STEP = np.uint64(0xD1B54A32D192ED03)
_MIX1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX2 = np.uint64(0x94D049BB133111EB)


class Streams:
    """Named, independent generators from one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._root = np.random.SeedSequence(self.seed)
        self._claim_key = int(self.sequence("claims").generate_state(1, np.uint64)[0])
        self._hour_keys: dict[str, np.ndarray] = {}

    def sequence(self, name: str) -> np.random.SeedSequence:
        return np.random.SeedSequence(entropy=self._root.entropy, spawn_key=(_name_key(name),))

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for the named source; the same name always gives the same stream."""
        return np.random.Generator(np.random.PCG64(self.sequence(name)))

    def hourly(self, name: str, hour: int) -> np.random.Generator:
        """A generator for the named source in one hour, independent of every other hour: an hour's draws never
        depend on how many numbers other hours took (a quiet hour may take none)."""
        key = self._hour_keys.get(name)
        if key is None:
            key = self._hour_keys[name] = self.sequence(name).generate_state(2, np.uint64)
        return np.random.Generator(np.random.Philox(key=key, counter=[0, int(hour), 0, 0]))

    def claim_base(self, claim_key: int) -> int:
        """The claim's base of its keyed uniforms (`keyed_uniform(base, slot)`): the run seed and the claim's key."""
        return ((int(claim_key) * GOLDEN) & M64) ^ self._claim_key

    def claim_bases(self, claim_keys: np.ndarray) -> np.ndarray:
        """`claim_base` of a batch of keys (uint64)."""
        with np.errstate(over="ignore"):
            return (np.asarray(claim_keys, dtype=np.uint64) * _GOLDEN) ^ np.uint64(self._claim_key)

    def claim_uniforms_batch(self, claim_keys: np.ndarray, n: int) -> np.ndarray:
        """The first `n` keyed uniforms of each claim key (a row each), vectorised over a batch of claims."""
        return keyed_uniforms(self.claim_bases(claim_keys), n)

    def claim_uniforms(self, claim_key: int, n: int) -> np.ndarray:
        """The first `n` keyed uniforms of one claim."""
        base = self.claim_base(claim_key)
        return np.array([keyed_uniform(base, slot) for slot in range(n)])


# A claim's uniform in slot s is a counter-based hash (the SplitMix64 finaliser) of base + s x step, its top 52 bits
# centred in their interval: strictly inside (0, 1), so no quantile function ever sees 0 or 1. Computed one at a
# time where the claim's story needs it (nothing stored per claim), or vectorised for a batch of claims; both give
# the same float, bit for bit.
M64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15
SLOT_STEP = 0xD1B54A32D192ED03
MIX1 = 0xBF58476D1CE4E5B9
MIX2 = 0x94D049BB133111EB
_ULP52 = 2.0 ** -52


def keyed_uniform(base: int, slot: int) -> float:
    """One keyed uniform: slot `slot` of the claim whose base is `base`."""
    x = (base + slot * SLOT_STEP) & M64
    x = ((x ^ (x >> 30)) * MIX1) & M64
    x = ((x ^ (x >> 27)) * MIX2) & M64
    return (((x ^ (x >> 31)) >> 12) + 0.5) * _ULP52


def keyed_uniforms(bases: np.ndarray, n: int) -> np.ndarray:
    """Slots 0..n-1 of each base (a row each), as `keyed_uniform` gives them."""
    x = np.asarray(bases, dtype=np.uint64).reshape(-1, 1)
    with np.errstate(over="ignore"):
        x = x + np.arange(n, dtype=np.uint64).reshape(1, -1) * _SLOT_STEP
        x = (x ^ (x >> np.uint64(30))) * _MIX1
        x = (x ^ (x >> np.uint64(27))) * _MIX2
        x = x ^ (x >> np.uint64(31))
    return ((x >> np.uint64(12)).astype(np.float64) + 0.5) * _ULP52
