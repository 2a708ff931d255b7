"""The soundtrack as a stream: spoken sentences placed on the timeline, over a ducked bed, limited.

Nothing longer than one chunk plus the sentences currently playing is ever in memory, so a ten-hour
sleepy mix costs the same memory as a five-second short.

Levels are planned before the first sample is mixed, from the cue times alone: the narration is
measured as a whole (one gain, so quiet and loud sentences keep their natural difference), the bed
sits `bed_below_voice_lu` under it, and the bed ducks by `duck_db` while a sentence plays (a
raised-cosine ramp that starts `attack` before the sentence, so the voice enters over a bed already
down, and recovers over `release` after it; pauses shorter than both stay ducked instead of
pumping). The loudness of that planned mix is predicted per 100 ms from the sentences' K-weighted
energy and the bed's known power, and one master gain puts the programme on its target. Last, a
look-ahead true-peak limiter keeps every inter-sample peak under the ceiling.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sf_media.ambient import AmbientBed, Stereo
from sf_media.limiter import TruePeakLimiter, limited
from sf_media.loudness import (
    HOP_SECONDS,
    block_powers_from_squares,
    from_lufs,
    integrated_loudness,
    weighted_squares,
)
from sf_media.truepeak import from_db
from sf_media.wavio import Samples, read_wav


@dataclass(frozen=True, slots=True)
class Cue:
    """One sentence's audio file and when it starts, in seconds from the start of the video."""

    start: float
    path: Path


@dataclass(frozen=True, slots=True)
class MixSettings:
    """How loud the finished programme is and how the bed sits under the voice."""

    target_lufs: float
    bed_below_voice_lu: float = 14.0
    duck_db: float = 8.0
    attack_seconds: float = 0.3
    release_seconds: float = 0.9
    # The limiter's ceiling sits under the -1 dBTP delivery limit: AAC decoding overshoots a little.
    ceiling_dbtp: float = -2.0


_MAKE_UP_ROUNDS = 5
_LOSS_SAMPLE_SENTENCES = 120
_MAX_MAKE_UP_DB = 4.0
_FADE_IN_SECONDS = 1.0
_FADE_OUT_SECONDS = 2.0


class Soundtrack:
    """Narration cues over an optional bed, rendered chunk by chunk."""

    def __init__(
        self,
        cues: Sequence[Cue],
        *,
        duration: float,
        sample_rate: int,
        settings: MixSettings,
        bed: AmbientBed | None = None,
    ) -> None:
        self.sample_rate = sample_rate
        self.total_samples = round(duration * sample_rate)
        self.settings = settings
        self._cues = sorted(cues, key=lambda cue: cue.start)
        self._bed = bed
        self._hop = round(HOP_SECONDS * sample_rate)
        self.limiter_ceiling = from_db(settings.ceiling_dbtp)
        voice_segments, speech = self._voice_energy()
        self.speech = speech  # (start, end) sample of every sentence, in order
        attack = round(settings.attack_seconds * sample_rate)
        release = round(settings.release_seconds * sample_rate)
        self._ducking = _Ducking(speech, attack, release, settings.duck_db)
        # Where the programme ends for loudness: after the last sentence (a sleepy bed may run on
        # for hours alone; it should not decide how loud the narration is).
        self.programme_end = (
            min(self.total_samples, speech[-1][1] + release) if speech else self.total_samples
        )
        narration = self.narration_loudness
        voice_lufs = narration if math.isfinite(narration) else settings.target_lufs
        bed_relative = (
            0.0 if bed is None else from_db(voice_lufs - settings.bed_below_voice_lu - bed.target_lufs)
        )
        planned = self._planned_loudness(voice_segments, bed_relative)
        master = from_db(settings.target_lufs - planned) if math.isfinite(planned) else 1.0
        # The make-up is the voice's alone: the bed stays where the plan put it under the voice.
        self.make_up_db = self._make_up_db(master, bed_relative * master, voice_segments)
        self.narration_gain = master * from_db(self.make_up_db)
        self.bed_gain = bed_relative * master

    def _make_up_db(self, master: float, bed_gain: float, voice: npt.NDArray[np.float64]) -> float:
        """Gain (dB) to add to the voice so the programme still reaches its target once limited.

        The limiter takes some loudness off peaky speech at web levels (about 1.5 LU for Piper at
        -14 LUFS). Its loss is measured on an evenly spread sample of the sentences, each put
        through a limiter at the planned gain, and the gain stepped up by secant steps (limiting
        makes loudness grow slower than the gain). The sample keeps a four-hour video's planning as
        cheap as a three-minute one's.
        """
        target = self.settings.target_lufs
        sample = self._cues[:: max(1, -(-len(self._cues) // _LOSS_SAMPLE_SENTENCES))]
        clean = self._loudness_of(sample, 1.0, limit=False)
        base_db = 20 * math.log10(master)
        gain_db = base_db
        tried: list[tuple[float, float]] = []  # (voice gain dB, loudness it gives once limited)
        for _ in range(_MAKE_UP_ROUNDS):
            limited = self._loudness_of(sample, from_db(gain_db), limit=True)
            if self._limited_samples == 0:
                break
            loss = clean + gain_db - limited
            reached = self._planned_loudness(voice * 10 ** (gain_db / 10), bed_gain) - loss
            if abs(target - reached) < 0.1:
                break
            tried.append((gain_db, reached))
            slope = 1.0
            if len(tried) > 1:
                (g0, l0), (g1, l1) = tried[-2:]
                slope = min(1.0, max(0.25, (l1 - l0) / (g1 - g0))) if g1 != g0 else 1.0
            # Past a few dB of make-up the limiter would be squashing the voice: stay a little
            # under the target rather than pump a flattened voice up to it.
            next_db = min(gain_db + (target - reached) / slope, base_db + _MAX_MAKE_UP_DB)
            if next_db == gain_db:
                break
            gain_db = next_db
        return gain_db - base_db

    def _loudness_of(self, cues: Sequence[Cue], gain: float, *, limit: bool) -> float:
        """Gated loudness of these sentences at `gain`, each through its own limiter if `limit`
        (sentences are further apart than the limiter's release, as in the stream)."""
        powers: list[float] = []
        self._limited_samples = 0
        for cue in cues:
            mono = read_wav(cue.path, self.sample_rate) * np.float32(gain)
            if limit:
                limiter = TruePeakLimiter(self.limiter_ceiling, self.sample_rate, channels=1)
                mono = np.concatenate([limiter.process(mono[None]), limiter.flush()], axis=1)[0]
                self._limited_samples += limiter.reduced_samples
            powers += block_powers_from_squares(
                2 * weighted_squares(mono[None], self.sample_rate), self.sample_rate
            )
        return integrated_loudness(powers)

    def _voice_energy(self) -> tuple[npt.NDArray[np.float64], list[tuple[int, int]]]:
        """Each sentence's K-weighted energy per 100 ms of the timeline, and its extent."""
        segments = np.zeros(self.total_samples // self._hop + 2)
        powers: list[float] = []
        speech = []
        for cue in self._cues:
            mono = read_wav(cue.path, self.sample_rate)
            start = round(cue.start * self.sample_rate)
            speech.append((start, start + mono.size))
            # Dual mono: the same sentence in both channels, hence twice the one-channel energy.
            squares = 2 * weighted_squares(mono[None], self.sample_rate)
            powers += block_powers_from_squares(squares, self.sample_rate)
            end = min(start + mono.size, self.total_samples)
            if end > start:
                where = np.arange(start, end) // self._hop
                segments[: where[-1] + 1] += np.bincount(where, weights=squares[: end - start])
        self.narration_loudness = integrated_loudness(powers)
        return segments, speech

    def _planned_loudness(self, voice_segments: npt.NDArray[np.float64], bed_gain: float) -> float:
        """Integrated loudness of the programme: voice energy as given, the bed at `bed_gain`."""
        count = -(-self.programme_end // self._hop)
        energy = voice_segments[:count].copy()
        if self._bed is not None:
            centres = np.arange(count) * self._hop + self._hop // 2
            duck = self._ducking.gains(centres)
            energy += from_lufs(self._bed.target_lufs) * bed_gain**2 * duck**2 * self._hop
        # 400 ms blocks every 100 ms: four consecutive 100 ms segments.
        per_block = np.convolve(energy, np.ones(4), mode="valid") / (4 * self._hop)
        return integrated_loudness(
            per_block if per_block.size else [energy.sum() / max(1, count * self._hop)]
        )

    def duck_gains(self, start: int, count: int) -> npt.NDArray[np.float64]:
        """The bed's ducking gain (1 = untouched) for `count` samples from `start`."""
        return self._ducking.gains(start + np.arange(count))

    def _fades(self, start: int, count: int) -> npt.NDArray[np.float64]:
        """The bed fades in at the start and out at the end (raised cosine), never cut hard."""
        index = start + np.arange(count)
        fade_in = max(1, min(round(_FADE_IN_SECONDS * self.sample_rate), self.total_samples // 4))
        fade_out = max(1, min(round(_FADE_OUT_SECONDS * self.sample_rate), self.total_samples // 4))
        rise = np.clip((index + 0.5) / fade_in, 0.0, 1.0)
        fall = np.clip((self.total_samples - index - 0.5) / fade_out, 0.0, 1.0)
        fades: npt.NDArray[np.float64] = 0.5 - 0.5 * np.cos(np.pi * np.minimum(rise, fall))
        return fades

    def chunks(self, chunk_samples: int) -> Iterator[Stereo]:
        """The finished mix, (2, n) float32 chunks, `total_samples` in all."""
        limiter = TruePeakLimiter(self.limiter_ceiling, self.sample_rate)
        return limited(self._raw_chunks(chunk_samples), limiter, chunk_samples)

    def _raw_chunks(self, chunk_samples: int) -> Iterator[Stereo]:
        playing: list[tuple[int, Samples]] = []  # (start sample, levelled audio)
        upcoming = iter(self._cues)
        pending = next(upcoming, None)
        for start in range(0, self.total_samples, chunk_samples):
            end = min(start + chunk_samples, self.total_samples)
            while pending is not None and round(pending.start * self.sample_rate) < end:
                audio = read_wav(pending.path, self.sample_rate) * np.float32(self.narration_gain)
                playing.append((round(pending.start * self.sample_rate), audio))
                pending = next(upcoming, None)
            voice = np.zeros(end - start, dtype=np.float32)
            for cue_start, audio in playing:
                lo, hi = max(start, cue_start), min(end, cue_start + len(audio))
                if lo < hi:
                    voice[lo - start : hi - start] += audio[lo - cue_start : hi - cue_start]
            playing = [(s, a) for s, a in playing if s + len(a) > end]
            mix = np.stack([voice, voice])
            if self._bed is not None:
                gain = self.duck_gains(start, end - start) * self._fades(start, end - start)
                gain = (gain * self.bed_gain).astype(np.float32)
                mix += self._bed.segment(start, end - start) * gain
            yield mix


class _Ducking:
    """Bed gain from the speech intervals: down by `depth_db` while anyone speaks, smooth ramps."""

    def __init__(self, speech: Sequence[tuple[int, int]], attack: int, release: int, depth_db: float) -> None:
        merged: list[list[int]] = []
        for start, end in sorted(speech):
            # A pause too short for the bed to come up and go down again stays ducked.
            if merged and start - merged[-1][1] < attack + release:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self._starts = np.array([s for s, _ in merged], dtype=np.int64)
        self._ends = np.array([e for _, e in merged], dtype=np.int64)
        self._attack, self._release = attack, release
        self._depth_db = depth_db

    def gains(self, samples: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        amount = np.zeros(samples.size)
        if self._starts.size and self._depth_db:
            # The only interval that can reach a sample: the last one whose attack has begun by then
            # (merging keeps intervals at least attack + release apart, so ramps never overlap).
            index = np.searchsorted(self._starts, samples + self._attack, side="right") - 1
            valid = index >= 0
            start = np.where(valid, self._starts[np.maximum(index, 0)], 0)
            end = np.where(valid, self._ends[np.maximum(index, 0)], 0)
            rising = np.clip((samples - (start - self._attack)) / self._attack, 0.0, 1.0)
            falling = np.clip(1.0 - (samples - end) / self._release, 0.0, 1.0)
            shape = np.where(samples <= end, rising, falling)
            amount = np.where(valid, 0.5 - 0.5 * np.cos(math.pi * shape), 0.0)
        gains: npt.NDArray[np.float64] = 10 ** (-self._depth_db * amount / 20)
        return gains


def rms_dbfs(samples: npt.NDArray[np.floating]) -> float:
    """Root-mean-square level in dBFS (a quick "is anything audible" check for tests and reports)."""
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) if samples.size else 0.0
    return 20 * math.log10(rms) if rms > 0 else -math.inf
