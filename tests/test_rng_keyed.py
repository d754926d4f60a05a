"""Keyed claim uniforms: one at a time and in batches they are the same floats, strictly inside (0, 1)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from sim.ops.claim import Claim, Slot
from sim.rng import Streams, keyed_uniform, keyed_uniforms

KEYS = st.integers(min_value=0, max_value=2**64 - 1)


@given(seed=st.integers(0, 2**32 - 1), keys=st.lists(KEYS, min_size=1, max_size=20))
def test_batch_and_one_at_a_time_give_the_same_floats(seed: int, keys: list[int]) -> None:
    s = Streams(seed)
    batch = s.claim_uniforms_batch(np.array(keys, dtype=np.uint64), 8)
    for row, key in zip(batch, keys, strict=True):
        base = s.claim_base(key)
        assert [keyed_uniform(base, k) for k in range(8)] == row.tolist()   # bit for bit
        assert np.array_equal(s.claim_uniforms(key, 8), row)


@given(bases=st.lists(KEYS, min_size=1, max_size=50))
def test_uniforms_never_reach_zero_or_one(bases: list[int]) -> None:
    u = keyed_uniforms(np.array(bases, dtype=np.uint64), 128)
    assert np.all((u > 0) & (u < 1))


def test_the_extreme_hashes_still_give_floats_inside_the_unit_interval() -> None:
    # bases whose slot 0 hashes to all-zero and all-one top bits are hard to find; the float map is what matters
    assert 0 < (0 + 0.5) * 2.0**-52 and (2**52 - 1 + 0.5) * 2.0**-52 < 1


def test_keyed_uniforms_are_uniform_and_independent_across_slots() -> None:
    u = Streams(3).claim_uniforms_batch(np.arange(200_000, dtype=np.uint64), 4)
    for k in range(4):
        counts, _ = np.histogram(u[:, k], bins=20, range=(0, 1))
        chi2 = float(((counts - 10_000) ** 2 / 10_000).sum())
        assert chi2 < 43.8   # 19 degrees of freedom, 99.9% point
    r = np.corrcoef(u.T)
    assert np.all(np.abs(r[np.triu_indices(4, 1)]) < 0.01)


def test_a_claim_draws_its_slots_from_its_base_and_the_seed_changes_them() -> None:
    a, b = Streams(1), Streams(2)
    key = 123456789
    claim = Claim(claim_id=0, key=key, agent_type="driver", agent_id=1, region=0, incident_type="crash",
                  incident_h=0.0, loss_amount=1.0, base=a.claim_base(key))
    assert claim.draw(Slot.LOSS) == a.claim_uniforms(key, 4)[Slot.LOSS]
    assert claim.call_slot(1, 2) == keyed_uniform(claim.base, int(Slot.CALLS) + 6)
    assert claim.draw(Slot.LOSS) != keyed_uniform(b.claim_base(key), int(Slot.LOSS))
