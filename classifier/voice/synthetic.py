"""A synthetic RAVDESS-named dataset: harmonic tones plus noise, not speech.

Each emotion has its own pitch, loudness, pitch movement and breathiness; each
synthetic actor shifts pitch and loudness by a personal factor (as voices do),
so per-speaker normalisation has something to remove. Used by the tests and
for the speed benchmark; its accuracy figures say nothing about real speech.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np

from classifier.voice.dataset import EMOTIONS, SAMPLE_RATE

# emotion -> (f0 Hz, loudness, vibrato depth (fraction of f0), noise share)
_VOICE = {
    "neutral": (130.0, 0.20, 0.01, 0.05),
    "calm": (115.0, 0.12, 0.005, 0.10),
    "happy": (210.0, 0.35, 0.06, 0.05),
    "sad": (100.0, 0.08, 0.01, 0.20),
    "angry": (180.0, 0.60, 0.03, 0.30),
    "fearful": (260.0, 0.25, 0.08, 0.25),
    "disgust": (140.0, 0.30, 0.02, 0.40),
    "surprised": (240.0, 0.45, 0.10, 0.10),
}


def synthetic_clip(
    emotion: str, actor: int, take: int, *, seconds: float = 1.0, rate: int = SAMPLE_RATE
) -> np.ndarray:
    """One synthetic clip `(round(seconds * rate),)` float32 in [-1, 1]."""
    f0, loudness, vibrato, noise_share = _VOICE[emotion]
    rng = np.random.default_rng(actor * 1000 + take * 10 + EMOTIONS.index(emotion))
    actor_rng = np.random.default_rng(actor)
    voice_factor = (0.75 if actor % 2 else 1.25) * actor_rng.uniform(0.9, 1.1)
    gain = actor_rng.uniform(0.6, 1.4)
    n = int(round(seconds * rate))
    t = np.arange(n) / rate
    pitch = f0 * voice_factor * rng.uniform(0.95, 1.05)
    inst = pitch * (1.0 + vibrato * np.sin(2 * np.pi * rng.uniform(3.0, 6.0) * t))
    phase = 2 * np.pi * np.cumsum(inst) / rate
    tone = sum(np.sin(k * phase) / k for k in range(1, 6))
    noise = rng.standard_normal(n)
    envelope = np.clip(np.sin(np.pi * t / seconds), 0, None) ** 0.5
    signal = ((1 - noise_share) * tone / 2.0 + noise_share * noise) * envelope
    signal = signal * loudness * gain * rng.uniform(0.9, 1.1)
    return np.clip(signal, -0.99, 0.99).astype(np.float32)


def synthetic_name(emotion: str, actor: int, take: int) -> str:
    """A valid RAVDESS speech name; `take` 0..7 picks intensity/statement/repetition."""
    code = EMOTIONS.index(emotion) + 1
    intensity = 1 if code == 1 else 1 + (take // 4) % 2
    statement = 1 + (take // 2) % 2
    repetition = 1 + take % 2
    return f"03-01-{code:02d}-{intensity:02d}-{statement:02d}-{repetition:02d}-{actor:02d}"


def write_synthetic_ravdess(
    root: Path,
    *,
    actors: Iterable[int] = range(1, 7),
    emotions: Iterable[str] = EMOTIONS,
    takes: int = 4,
    seconds: float = 1.0,
    rate: int = SAMPLE_RATE,
    layout: str = "actors",
    suffix: str = ".wav",
) -> list[Path]:
    """Write a synthetic RAVDESS-named set under `root` (`Actor_XX/` folders or flat).

    `takes` clips (at most 8; at most 4 for neutral) per actor and emotion. With
    24 actors and 8 takes this is RAVDESS's speech set in size: 1,440 clips.
    Returns the written paths.
    """
    import soundfile

    if not 1 <= takes <= 8:
        raise ValueError("takes must be 1..8 (RAVDESS has 8 clips per actor and emotion)")
    paths = []
    for actor in actors:
        folder = root / f"Actor_{actor:02d}" if layout == "actors" else root
        folder.mkdir(parents=True, exist_ok=True)
        for emotion in emotions:
            # RAVDESS has no strong neutral, so neutral has half the names (as in RAVDESS).
            for take in range(min(takes, 4) if emotion == "neutral" else takes):
                path = folder / f"{synthetic_name(emotion, actor, take)}{suffix}"
                clip = synthetic_clip(emotion, actor, take, seconds=seconds, rate=rate)
                soundfile.write(str(path), clip, rate)
                paths.append(path)
    return paths
