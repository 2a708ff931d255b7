import tracemalloc

import numpy as np
import pytest
from sf_media.ambient import NOISE_LOOP_SECONDS, PAD_LOOP_SECONDS, AmbientBed, BedStyle
from sf_media.loudness import block_powers, integrated_loudness

RATE = 16_000  # the bed scales with the rate; a low one keeps these tests quick


@pytest.fixture(scope="module", params=list(BedStyle))
def bed(request: pytest.FixtureRequest) -> AmbientBed:
    return AmbientBed(RATE, -30.0, seed=11, style=request.param)


def test_every_loop_joins_itself_without_a_click(bed: AmbientBed) -> None:
    # Long enough to cross the noise loop's seam and the pad loop's seam.
    audio = bed.segment(0, (PAD_LOOP_SECONDS + 1) * RATE).astype(np.float64)
    jumps = np.abs(np.diff(audio, axis=1)).max(axis=0)
    typical = float(np.percentile(jumps, 99.9))

    for seam in (NOISE_LOOP_SECONDS * RATE, PAD_LOOP_SECONDS * RATE):
        # The step across the seam is an ordinary step: no larger than what the bed does anyway.
        assert jumps[seam - 1] <= typical
        # And the level on both sides matches (no dip or swell at the join).
        before = np.sqrt(np.mean(audio[:, seam - RATE // 2 : seam] ** 2))
        after = np.sqrt(np.mean(audio[:, seam : seam + RATE // 2] ** 2))
        assert after == pytest.approx(before, rel=0.5)


def test_the_bed_is_levelled_to_its_target_and_leaves_headroom(bed: AmbientBed) -> None:
    audio = bed.segment(0, 30 * RATE)

    assert integrated_loudness(block_powers(audio, RATE)) == pytest.approx(-30.0, abs=1.0)
    assert float(np.abs(audio).max()) < 0.5


def test_the_bed_is_the_same_whatever_the_chunk_size_and_past_its_loops() -> None:
    bed = AmbientBed(RATE, -30.0, seed=3, style=BedStyle.RAIN)
    total = 2 * PAD_LOOP_SECONDS * RATE + 777  # crosses both loops' seams more than once

    whole = np.concatenate(list(bed.chunks(total, total)), axis=1)
    pieces = np.concatenate(list(bed.chunks(total, 12_345)), axis=1)

    assert whole.shape == pieces.shape == (2, total)
    np.testing.assert_array_equal(whole, pieces)


def test_streaming_an_hour_costs_no_more_memory_than_a_minute() -> None:
    bed = AmbientBed(RATE, -30.0, seed=5, style=BedStyle.PAD)

    def peak_while_streaming(seconds: int) -> int:
        tracemalloc.start()
        for _chunk in bed.chunks(seconds * RATE, RATE):
            pass
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    minute, hour = peak_while_streaming(60), peak_while_streaming(3600)

    assert hour < minute + 100_000  # a few chunks' worth at most, whatever the length
    assert hour < 2 * 8 * RATE * 4  # never more than a handful of one-second chunks


def test_the_seed_picks_the_style_and_the_music() -> None:
    styles = ("rain", "brown", "pad")

    assert [AmbientBed.style_for(styles, seed) for seed in (0, 1, 2, 3)] == [
        BedStyle.RAIN,
        BedStyle.BROWN,
        BedStyle.PAD,
        BedStyle.RAIN,
    ]
    one = AmbientBed(RATE, -30.0, seed=1, style=BedStyle.PAD).segment(0, RATE)
    again = AmbientBed(RATE, -30.0, seed=1, style=BedStyle.PAD).segment(0, RATE)
    other = AmbientBed(RATE, -30.0, seed=2, style=BedStyle.PAD).segment(0, RATE)
    np.testing.assert_array_equal(one, again)
    assert not np.allclose(one, other)
