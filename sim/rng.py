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

    def claim_uniforms_batch(self, claim_keys: np.ndarray, n: int) -> np.ndarray:
        """`n` uniforms for each claim key (a row each, float32 on (0, 1)), depending only on the run seed and
        the key: a counter-based hash (SplitMix64 finaliser) of (key, slot), vectorised over a batch of claims."""
        k = np.asarray(claim_keys, dtype=np.uint64).reshape(-1, 1)
        slots = np.arange(n, dtype=np.uint64).reshape(1, -1)
        with np.errstate(over="ignore"):
            x = (k * _GOLDEN) ^ np.uint64(self._claim_key)
            x = x + slots * _SLOT_STEP
            x = (x ^ (x >> np.uint64(30))) * _MIX1
            x = (x ^ (x >> np.uint64(27))) * _MIX2
            x = x ^ (x >> np.uint64(31))
        return (((x >> np.uint64(40)).astype(np.float32) + np.float32(0.5)) * np.float32(2.0**-24))

    def claim_uniforms(self, claim_key: int, n: int) -> np.ndarray:
        """`n` uniforms on [0, 1) that depend only on the run seed and the claim's key."""
        bits = np.random.Philox(key=[claim_key, self._claim_key]).random_raw(n)
        return (bits >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)
