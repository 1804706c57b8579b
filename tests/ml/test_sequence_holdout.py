"""The trainers' own validation item: the last one when timed, a drawn one without order."""

from __future__ import annotations

from ml.data import Interaction, encode
from ml.sequence import hold_out_last


def test_untimed_histories_hold_out_a_drawn_item_not_the_heaviest():
    rows = [Interaction(f"u{u}", f"i{n}", None, float(n)) for u in range(40) for n in range(6)]
    rows += [Interaction("timed", f"i{n}", float(10 - n)) for n in range(6)]
    seqs = encode(rows)
    train, valid = hold_out_last(seqs, seed=0)
    index = seqs.item_index()
    timed = seqs.users.index("timed")
    # Timed: the latest item (i0, at time 10).
    assert valid[timed] == index["i0"]
    assert train.histories[timed] == seqs.histories[timed][:-1]
    untimed = [u for u in range(len(seqs.users)) if u != timed]
    # Untimed histories are ordered by weight: their last is always i5, the heaviest.
    assert all(seqs.histories[u][-1] == index["i5"] for u in untimed)
    drawn = {int(valid[u]) for u in untimed}
    assert len(drawn) >= 4
    for u in untimed:
        assert int(valid[u]) not in train.histories[u]
        assert len(train.histories[u]) == 5
    # The same seed draws the same items.
    assert (hold_out_last(seqs, seed=0)[1] == valid).all()
