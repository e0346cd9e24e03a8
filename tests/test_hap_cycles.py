"""HAP cycle model (golden.hap.cycles): the step order, the load recurrence against the closed form,
row tiles with 8-bit channels, layer cycles as the sum of its tiles, validation."""

import random

import pytest
import torch

from golden.hap.cycles import layer_cycles, layer_tiles, load_cycles, row_tiles, step_order, tile_cycles
from golden.hap.dar import dar


def test_load_cycles_by_hand():
    # accept k=0 at 0 (p=3: bit cycles 1..3); zeros hide in cycles 1 and 2; drain from max(E+1, F)+1
    assert load_cycles([3, 0, 0]) == 4
    assert load_cycles([0, 0, 3]) == 6   # zeros first: they cannot hide
    assert load_cycles([1, 1, 1]) == 4   # back to back: 3 bit cycles + 1
    assert load_cycles([0]) == 2 and load_cycles([0, 0, 0]) == 4
    assert load_cycles([8]) == 9 and load_cycles([8, 8]) == 17
    assert load_cycles([2, 0, 0, 0]) == 5  # one zero hides, two more take a cycle each


def test_step_order_hides_zero_steps():
    assert step_order([0, 3, 0, 0, 0, 2]) == [1, 0, 2, 5, 3, 4]
    rng = random.Random(0)
    for _ in range(500):
        p = [rng.choice([0, 0, 0, 1, 2, 3, 5, 8]) for _ in range(rng.randint(1, 20))]
        order = step_order(p)
        assert sorted(order) == list(range(len(p)))
        assert load_cycles([p[k] for k in order]) == max(sum(p), len(p)) + 1
        # no order does better than the closed form
        shuffled = p[:]
        rng.shuffle(shuffled)
        assert load_cycles(shuffled) >= max(sum(p), len(p)) + 1


def test_row_tiles():
    assert row_tiles([4] * 5, rows=4) == [[0, 1, 2, 3], [4]]
    assert row_tiles([4, 8, 4, 8], rows=4) == [[0, 1, 2], [3]]  # 1+2+1 rows, then the 8-bit one
    assert row_tiles([4, 4, 4, 8], rows=4) == [[0, 1, 2], [3]]  # the 8-bit channel does not fit in one row
    assert row_tiles([8, 8], rows=4) == [[0, 1]]


def test_layer_cycles_is_sum_of_tiles():
    gen = torch.Generator().manual_seed(2)
    q = torch.randint(0, 256, (10, 23), generator=gen)
    q[:4] = 50 + torch.randint(0, 3, (4, 23), generator=gen)
    q[5] = 3
    groups = dar(q, group_size=8)
    bits = [4, 8, 4, 4, 8, 8, 4]
    tiles = layer_tiles(groups, bits, rows=4, cols=8)
    assert len(tiles) == len(row_tiles(bits, rows=4)) * 3
    assert layer_cycles(groups, bits, rows=4, cols=8) == sum(c for _, _, c in tiles)
    j, channels, cycles = tiles[0]
    p = groups.precision[:, j].tolist()
    n8 = sum(bits[o] == 8 for o in channels)
    assert cycles == max(sum(p), len(p)) + 1 + 4 - n8 == tile_cycles(p, channels_8bit=n8, rows=4)


@pytest.mark.parametrize("call,error,match", [
    (lambda: load_cycles([]), ValueError, "at least one step"),
    (lambda: load_cycles([9]), ValueError, "0..8"),
    (lambda: row_tiles([4, 6], rows=4), ValueError, "4 or 8"),
    (lambda: row_tiles([4], rows=1), ValueError, "rows must be >= 2"),
    (lambda: tile_cycles([1], channels_8bit=3, rows=4), ValueError, "rows // 2"),
    (lambda: layer_cycles(dar(torch.zeros(2, 4, dtype=torch.int64), group_size=2), [4], rows=4, cols=4),
     ValueError, "must equal the group size"),
    (lambda: layer_cycles(dar(torch.zeros(2, 4, dtype=torch.int64), group_size=2, mode="inter"), [4], rows=4, cols=2),
     ValueError, "intra-channel"),
    (lambda: layer_cycles("groups", [4], rows=4, cols=2), TypeError, "DarGroups"),
])
def test_validation(call, error, match):
    with pytest.raises(error, match=match):
        call()
