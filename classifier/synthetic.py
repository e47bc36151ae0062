"""Synthetic Muse-like EEG whose spectrum follows a scripted valence and arousal.

Everything here is SYNTHETIC: made-up signals for tests, the simulated headset and the demo
model. None of it is a recording of a person, and nothing learnt from it says anything about
real brains. The simulation follows two textbook (and contested) EEG correlates:

- arousal: alpha (8-12 Hz) falls and beta (18-25 Hz) rises as arousal rises;
- valence: frontal alpha asymmetry - less left-frontal alpha (AF7, TP9) than right (AF8,
  TP10) for pleasant states, the other way round for unpleasant ones.

On top of a 1/f background come blinks (frontal, slow, ~100 µV), occasional jaw clenches
(broadband muscle bursts, strongest on TP9/TP10) and mains hum at the line frequency.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from classifier.errors import ClassifierError
from classifier.signal import MUSE_RATE_HZ, MUSELSL_CHANNELS

# mood -> (valence, arousal) as DREAMER-style self-ratings on the 1-5 scale (high when > 3).
MOODS: dict[str, tuple[float, float]] = {
    "happy": (4.5, 4.5),
    "calm": (4.5, 1.5),
    "sad": (1.5, 1.5),
    "tense": (1.5, 4.5),
}

DREAMER_CHANNELS: tuple[str, ...] = (
    "AF3",
    "F7",
    "F3",
    "FC5",
    "T7",
    "P7",
    "O1",
    "O2",
    "P8",
    "T8",
    "FC6",
    "F4",
    "F8",
    "AF4",
)
# The DREAMER electrode nearest to each Muse electrode (used by the synthetic DREAMER writer).
MUSE_FROM_DREAMER = {"TP9": "T7", "AF7": "AF3", "TP10": "T8", "AF8": "AF4"}

_SIDES = {"TP9": -1, "AF7": -1, "AF8": 1, "TP10": 1}  # -1 left, +1 right
_FRONTAL_WEIGHT = {"TP9": 0.5, "AF7": 1.0, "AF8": 1.0, "TP10": 0.5}

# Paul Kellet's economy pink-noise filter (1/f power), normalised below.
_PINK_B = np.array([0.049922035, -0.095993537, 0.050612699, -0.004408786])
_PINK_A = np.array([1.0, -2.494956002, 2.017265875, -0.522189400])


def mood_ratings(mood: str | tuple[float, float]) -> tuple[float, float]:
    """(valence, arousal) on the 1-5 scale for a mood name or a (valence, arousal) pair."""
    if isinstance(mood, str):
        try:
            return MOODS[mood]
        except KeyError:
            raise ClassifierError(
                f"unknown synthetic mood {mood!r}; choose one of {', '.join(MOODS)} "
                "or give (valence, arousal) ratings 1-5"
            ) from None
    valence, arousal = (float(x) for x in mood)
    if not (1.0 <= valence <= 5.0 and 1.0 <= arousal <= 5.0):
        raise ClassifierError(f"synthetic mood ratings {mood} must lie in 1-5")
    return valence, arousal


class _Resonator:
    """White noise through a stateful 2-pole resonator: a narrow-band rhythm of unit std."""

    def __init__(self, freq_hz: float, rate_hz: float, n_channels: int, q: float = 4.0) -> None:
        from scipy.signal import iirpeak, lfilter

        self.b, self.a = iirpeak(freq_hz, q, fs=rate_hz)
        probe = lfilter(self.b, self.a, np.random.default_rng(0).standard_normal(20_000))
        self.gain = 1.0 / float(probe[2000:].std())
        self.zi = np.zeros((len(self.a) - 1, n_channels))
        self._lfilter = lfilter

    def __call__(self, white: np.ndarray) -> np.ndarray:
        out, self.zi = self._lfilter(self.b, self.a, white, axis=0, zi=self.zi)
        return out * self.gain


class SyntheticMuse:
    """A continuous synthetic Muse: consecutive `next_chunk` calls join without seams.

    Produces [n, n_channels] float32 µV in muselsl order (TP9, AF7, AF8, TP10[, Right AUX]).
    `subject` shifts per-channel gains and the alpha peak a little, as heads differ.
    """

    def __init__(
        self,
        mood: str | tuple[float, float] = "calm",
        seed: int = 0,
        *,
        rate_hz: float = MUSE_RATE_HZ,
        n_channels: int = 5,
        subject: int = 0,
        line_noise_hz: float = 50.0,
        line_noise_uv: float = 3.0,
        blinks_per_min: float = 10.0,
        clenches_per_min: float = 1.0,
    ) -> None:
        from scipy.signal import lfilter

        if n_channels not in (4, 5):
            raise ClassifierError(f"a Muse has 4 or 5 channels, not {n_channels}")
        self.rate_hz = float(rate_hz)
        self.n_channels = n_channels
        self.labels = MUSELSL_CHANNELS[:n_channels]
        self.rng = np.random.default_rng(seed)
        head = np.random.default_rng([subject, 20260])
        self.gains = 1.0 + 0.08 * head.standard_normal(4)
        alpha_hz = 10.0 + 0.6 * head.standard_normal()
        self.alpha = _Resonator(alpha_hz, self.rate_hz, 4)
        self.beta = _Resonator(21.0, self.rate_hz, 4, q=3.0)
        self._lfilter = lfilter
        self.pink_zi = np.zeros((3, n_channels))
        probe = lfilter(_PINK_B, _PINK_A, np.random.default_rng(1).standard_normal(50_000))
        self.pink_gain = 1.0 / float(probe[5000:].std())
        self.line_noise_hz = line_noise_hz
        self.line_noise_uv = line_noise_uv
        self.blink_rate = blinks_per_min / 60.0
        self.clench_rate = clenches_per_min / 60.0
        self.n_done = 0
        self._pending = np.zeros((0, n_channels))  # artifact tails reaching into later chunks
        self._block_len = max(1, int(round(self.rate_hz)))
        self._buffer = np.zeros((0, n_channels), dtype=np.float32)
        self.set_mood(mood)

    def set_mood(self, mood: str | tuple[float, float]) -> None:
        """Change the scripted mood from the next sample on."""
        self.valence, self.arousal = mood_ratings(mood)
        v = (self.valence - 3.0) / 2.0  # -1..1
        a = (self.arousal - 3.0) / 2.0
        alpha = 14.0 * (1.0 - 0.45 * a)  # µV std
        beta = 5.0 * float(np.exp(0.9 * a))
        self.alpha_uv = np.array(
            [
                alpha * (1.0 + 0.45 * v * _SIDES[ch] * _FRONTAL_WEIGHT[ch]) * g
                for ch, g in zip(MUSELSL_CHANNELS[:4], self.gains, strict=True)
            ]
        )
        self.beta_uv = beta * self.gains

    def next_chunk(self, n_samples: int) -> np.ndarray:
        """The next n_samples of the signal: [n_samples, n_channels] float32 µV.

        Generated in fixed blocks, so the signal is the same however it is chunked
        (a mood change applies from the next block, at most 1 s later).
        """
        n = int(n_samples)
        while len(self._buffer) < n:
            self._buffer = np.concatenate([self._buffer, self._block(self._block_len)])
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def _block(self, n: int) -> np.ndarray:
        rng = self.rng
        t = (self.n_done + np.arange(n)) / self.rate_hz
        pink, self.pink_zi = self._lfilter(
            _PINK_B, _PINK_A, rng.standard_normal((n, self.n_channels)), axis=0, zi=self.pink_zi
        )
        out = 9.0 * self.pink_gain * pink
        out[:, :4] += self.alpha(rng.standard_normal((n, 4))) * self.alpha_uv
        out[:, :4] += self.beta(rng.standard_normal((n, 4))) * self.beta_uv
        out += self.line_noise_uv * np.sin(2 * np.pi * self.line_noise_hz * t)[:, None]
        out += self._artifacts(n)
        self.n_done += n
        return out.astype(np.float32)

    def _artifacts(self, n: int) -> np.ndarray:
        """Blinks and jaw clenches starting in this chunk, plus tails from earlier chunks."""
        rng, fs = self.rng, self.rate_hz
        blink_len, clench_len = int(0.4 * fs), int(1.0 * fs)
        buf = np.zeros((n + clench_len, self.n_channels))
        buf[: len(self._pending)] += self._pending[: len(buf)]
        for start in np.flatnonzero(rng.random(n) < self.blink_rate / fs):
            shape = np.hanning(blink_len) * rng.uniform(90.0, 150.0)
            buf[start : start + blink_len, 1] += shape  # AF7
            buf[start : start + blink_len, 2] += shape * rng.uniform(0.8, 1.1)  # AF8
        for start in np.flatnonzero(rng.random(n) < self.clench_rate / fs):
            burst = rng.standard_normal((clench_len, 4)) * np.array([40.0, 15.0, 15.0, 40.0])
            buf[start : start + clench_len, :4] += burst
        self._pending = buf[n:]
        return buf[:n]


def synthetic_muse_eeg(
    duration_s: float,
    mood: str | tuple[float, float],
    *,
    rate_hz: float = MUSE_RATE_HZ,
    n_channels: int = 5,
    seed: int,
    subject: int = 0,
    line_noise_hz: float = 50.0,
) -> np.ndarray:
    """SYNTHETIC Muse EEG: [round(duration_s * rate_hz), n_channels] float32 µV.

    Channels in muselsl order (TP9, AF7, AF8, TP10[, Right AUX]). `mood` is a MOODS name or
    (valence, arousal) ratings 1-5. Same arguments, same array.
    """
    muse = SyntheticMuse(
        mood,
        seed,
        rate_hz=rate_hz,
        n_channels=n_channels,
        subject=subject,
        line_noise_hz=line_noise_hz,
    )
    return muse.next_chunk(int(round(duration_s * rate_hz)))


def write_muselsl_csv(
    path: str | Path,
    samples: np.ndarray,
    *,
    rate_hz: float = MUSE_RATE_HZ,
    start_time: float = 1_700_000_000.0,
    labels: Sequence[str] = MUSELSL_CHANNELS,
    timestamps: np.ndarray | None = None,
) -> Path:
    """Write samples [n, C] µV as a `muselsl record` CSV (timestamps,TP9,AF7,AF8,TP10,Right AUX).

    Timestamps are unix seconds spaced 1/rate_hz from start_time unless given ([n]).
    """
    path = Path(path)
    if timestamps is None:
        timestamps = start_time + np.arange(len(samples)) / rate_hz
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["timestamps", *labels])
        for ts, row in zip(timestamps, samples, strict=True):
            writer.writerow([f"{ts:.6f}", *(f"{x:.3f}" for x in row)])
    return path


def synthetic_dreamer_trial(
    duration_s: float, mood: str | tuple[float, float], *, seed: int, subject: int = 0
) -> np.ndarray:
    """SYNTHETIC 14-channel Emotiv-like trial at 128 Hz: [n, 14] µV in DREAMER's order.

    The four electrodes nearest the Muse ones carry the synthetic Muse signal; the rest carry
    mixtures of those plus noise, so DREAMER-shaped tooling has realistic-looking input.
    """
    muse = synthetic_muse_eeg(
        duration_s, mood, rate_hz=128.0, n_channels=4, seed=seed, subject=subject
    )
    rng = np.random.default_rng([seed, 14])
    out = np.empty((muse.shape[0], 14), dtype=np.float32)
    by_label = dict(zip(MUSELSL_CHANNELS[:4], muse.T, strict=True))
    left, right = (by_label["TP9"] + by_label["AF7"]) / 2, (by_label["TP10"] + by_label["AF8"]) / 2
    for i, ch in enumerate(DREAMER_CHANNELS):
        muse_ch = next((m for m, d in MUSE_FROM_DREAMER.items() if d == ch), None)
        if muse_ch is not None:
            out[:, i] = by_label[muse_ch]
        else:
            side = left if ch[-1] in "13579" else right
            out[:, i] = 0.7 * side + 4.0 * rng.standard_normal(len(side))
    # Emotiv data carries a DC offset of several thousand µV.
    return out + 4200.0


def write_synthetic_dreamer_mat(
    path: str | Path,
    *,
    n_subjects: int = 2,
    n_trials: int = 4,
    trial_s: float = 20.0,
    baseline_s: float = 4.0,
    seed: int = 0,
) -> Path:
    """Write a small SYNTHETIC file in DREAMER.mat's layout.

    `DREAMER.Data{s}.EEG.stimuli{t}` ([n, 14] at 128 Hz), `.EEG.baseline{t}`, and
    `.ScoreValence/.ScoreArousal/.ScoreDominance` ([n_trials, 1], 1-5). Trials cycle through
    the four MOODS, so every subject has both classes on both dimensions when n_trials >= 4.
    """
    import scipy.io as sio

    moods = list(MOODS)
    data = np.empty((1, n_subjects), dtype=object)
    for s in range(n_subjects):
        subject = np.empty(
            (1, 1),
            dtype=[
                ("EEG", "O"),
                ("ScoreValence", "O"),
                ("ScoreArousal", "O"),
                ("ScoreDominance", "O"),
                ("Age", "O"),
            ],
        )
        eeg = np.empty((1, 1), dtype=[("baseline", "O"), ("stimuli", "O")])
        stimuli = np.empty((n_trials, 1), dtype=object)
        baseline = np.empty((n_trials, 1), dtype=object)
        ratings = np.zeros((n_trials, 3))
        for t in range(n_trials):
            valence, arousal = MOODS[moods[(t + s) % len(moods)]]
            trial_seed = seed * 100_003 + s * 1_009 + t
            stimuli[t, 0] = synthetic_dreamer_trial(
                trial_s, (valence, arousal), seed=trial_seed, subject=s
            ).astype(np.float64)
            baseline[t, 0] = synthetic_dreamer_trial(
                baseline_s, (3.0, 3.0), seed=trial_seed + 50_000, subject=s
            ).astype(np.float64)
            ratings[t] = (round(valence), round(arousal), 3)
        eeg[0, 0]["stimuli"] = stimuli
        eeg[0, 0]["baseline"] = baseline
        subject[0, 0]["EEG"] = eeg
        subject[0, 0]["ScoreValence"] = ratings[:, :1]
        subject[0, 0]["ScoreArousal"] = ratings[:, 1:2]
        subject[0, 0]["ScoreDominance"] = ratings[:, 2:3]
        subject[0, 0]["Age"] = np.array([["synthetic"]])
        data[0, s] = subject
    top = np.empty(
        (1, 1),
        dtype=[("Data", "O"), ("EEG_SamplingRate", "O"), ("EEG_Electrodes", "O"), ("Note", "O")],
    )
    top[0, 0]["Data"] = data
    top[0, 0]["EEG_SamplingRate"] = np.array([[128.0]])
    electrodes = np.empty((1, 14), dtype=object)
    for i, ch in enumerate(DREAMER_CHANNELS):
        electrodes[0, i] = ch
    top[0, 0]["EEG_Electrodes"] = electrodes
    top[0, 0]["Note"] = np.array(["SYNTHETIC data written by emotune, not DREAMER recordings"])
    path = Path(path)
    sio.savemat(str(path), {"DREAMER": top}, do_compression=False)
    return path


def loose_electrode(n: int, start: int = 0, rate_hz: float = MUSE_RATE_HZ) -> np.ndarray:
    """[n] µV of a SYNTHETIC electrode that has lost the skin, from sample `start` on: a slow
    wander of the electrode's offset with 50 Hz mains on it, clipped at the Muse 2 ADC's
    ±1000 µV rail (what a loose sensor shows in real recordings)."""
    t = (start + np.arange(n)) / rate_hz
    wander = 1100.0 * np.sin(2 * np.pi * 0.2 * t)
    mains = 300.0 * np.sin(2 * np.pi * 50.0 * t)
    return np.clip(wander + mains, -1000.0, 1000.0).astype(np.float32)
