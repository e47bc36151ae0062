"""RAVDESS file names, the dataset reader, and audio loading.

RAVDESS names every clip `MM-VC-EE-II-SS-RR-AA.ext`: modality (01 audio-video,
02 video-only, 03 audio-only), vocal channel (01 speech, 02 song), emotion
(01 neutral ... 08 surprised), intensity (01 normal, 02 strong), statement
(01, 02), repetition (01, 02), actor (01-24; odd actors are male).

Audio is always returned as float32 mono at `SAMPLE_RATE` (22,050 Hz), samples
in [-1, 1]: files at other rates are resampled, stereo is averaged to mono.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.voice.errors import VoiceError
from classifier.voice.librosa_loader import load_librosa

SAMPLE_RATE = 22_050
AUDIO_SUFFIXES = (".wav", ".flac")
MIN_SECONDS = 0.5

# RAVDESS emotion codes, 01..08.
EMOTIONS: tuple[str, ...] = (
    "neutral",
    "calm",
    "happy",
    "sad",
    "angry",
    "fearful",
    "disgust",
    "surprised",
)

_NAME = re.compile(r"^(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})-(\d{2})$")
_NAME_HELP = "expected MM-VC-EE-II-SS-RR-AA (e.g. 03-01-05-02-01-01-12)"
# Below this peak level (about -80 dBFS) a clip is treated as silence.
SILENCE_PEAK = 1e-4
# A clip is called clipped when this share of its samples sits at full scale.
CLIPPED_SHARE = 0.01


@dataclass(frozen=True)
class RavdessName:
    """The seven fields of a RAVDESS file name, decoded."""

    modality: int
    vocal_channel: int  # 1 speech, 2 song
    emotion: str  # one of EMOTIONS
    intensity: int  # 1 normal, 2 strong
    statement: int
    repetition: int
    actor: int  # 1..24

    @property
    def is_speech(self) -> bool:
        return self.vocal_channel == 1

    @property
    def is_male(self) -> bool:
        return self.actor % 2 == 1


def parse_ravdess_name(name: str) -> RavdessName:
    """Decode a RAVDESS file name (with or without folder and suffix).

    Raises VoiceError naming the file and the expected pattern when it does not fit.
    """
    stem = Path(name).name
    for suffix in AUDIO_SUFFIXES:
        if stem.lower().endswith(suffix):
            stem = stem[: -len(suffix)]
            break
    match = _NAME.match(stem)
    if match is None:
        raise VoiceError(f"{name!r} is not a RAVDESS file name: {_NAME_HELP}")
    modality, channel, emotion, intensity, statement, repetition, actor = map(int, match.groups())
    problems = []
    if modality not in (1, 2, 3):
        problems.append(f"modality {modality:02d} not in 01-03")
    if channel not in (1, 2):
        problems.append(f"vocal channel {channel:02d} not 01 (speech) or 02 (song)")
    if not 1 <= emotion <= len(EMOTIONS):
        problems.append(f"emotion {emotion:02d} not in 01-08")
    if intensity not in (1, 2):
        problems.append(f"intensity {intensity:02d} not 01 or 02")
    if emotion == 1 and intensity == 2:
        problems.append("neutral (01) has no strong intensity (02)")
    if statement not in (1, 2):
        problems.append(f"statement {statement:02d} not 01 or 02")
    if repetition not in (1, 2):
        problems.append(f"repetition {repetition:02d} not 01 or 02")
    if actor < 1:
        problems.append("actor 00 does not exist")
    if problems:
        raise VoiceError(
            f"{name!r} is not a RAVDESS file name: {'; '.join(problems)}; {_NAME_HELP}"
        )
    return RavdessName(
        modality=modality,
        vocal_channel=channel,
        emotion=EMOTIONS[emotion - 1],
        intensity=intensity,
        statement=statement,
        repetition=repetition,
        actor=actor,
    )


@dataclass(frozen=True)
class Clip:
    """One labelled clip of a dataset."""

    path: Path
    name: RavdessName

    @property
    def actor(self) -> int:
        return self.name.actor

    @property
    def emotion(self) -> str:
        return self.name.emotion


def scan_ravdess(
    root: Path, *, include_song: bool = False, actors: Iterable[int] | None = None
) -> list[Clip]:
    """List the clips under `root` (the `Actor_XX/` layout or one flat folder), sorted by path.

    Only speech clips unless `include_song`. Audio files whose names do not fit the
    RAVDESS scheme are an error naming the first of them (a wrong folder is likelier
    than a stray file). `actors` keeps only those actors.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise VoiceError(f"{root} is not a folder; pass the folder that holds your copy of RAVDESS")
    files = sorted(p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file())
    if not files:
        raise VoiceError(
            f"no .wav or .flac files under {root}; pass the folder that holds your copy of RAVDESS"
        )
    keep = None if actors is None else set(actors)
    clips = []
    for path in files:
        name = parse_ravdess_name(path.name)
        if not include_song and not name.is_speech:
            continue
        if keep is not None and name.actor not in keep:
            continue
        clips.append(Clip(path=path, name=name))
    return clips


def check_trainable(clips: Sequence[Clip], where: str) -> None:
    """Raise a one-line VoiceError unless `clips` has at least two emotions and two actors."""
    if not clips:
        raise VoiceError(f"no speech clips in {where}; check the folder and --test-actors")
    emotions = {c.emotion for c in clips}
    if len(emotions) < 2:
        raise VoiceError(
            f"{where} holds only one emotion ({emotions.pop()}); a classifier needs at least two"
        )
    actors = {c.actor for c in clips}
    if len(actors) < 2:
        raise VoiceError(
            f"{where} holds only one actor ({actors.pop():02d}); the actor-grouped search "
            "needs at least two"
        )


def parse_actor_list(text: str) -> list[int]:
    """Parse `21-24`, `1,3,5` or `1-4,9` into sorted actor numbers."""
    actors: set[int] = set()
    for part in text.replace(" ", "").split(","):
        if not part:
            continue
        bounds = part.split("-")
        try:
            if len(bounds) == 1:
                actors.add(int(bounds[0]))
            elif len(bounds) == 2:
                lo, hi = int(bounds[0]), int(bounds[1])
                if lo > hi:
                    raise ValueError
                actors.update(range(lo, hi + 1))
            else:
                raise ValueError
        except ValueError:
            raise VoiceError(
                f"cannot read actors {text!r}: use a range and/or a list, e.g. 21-24 or 1,3,5"
            ) from None
    if not actors or min(actors) < 1:
        raise VoiceError(f"cannot read actors {text!r}: actors are numbered from 1, e.g. 21-24")
    return sorted(actors)


@dataclass(frozen=True)
class Audio:
    """Mono float32 samples `(n_samples,)` at `rate` Hz, and what loading noticed."""

    samples: np.ndarray
    rate: int
    original_rate: int
    original_channels: int
    clipped_share: float

    @property
    def seconds(self) -> float:
        return len(self.samples) / self.rate

    @property
    def is_clipped(self) -> bool:
        return self.clipped_share >= CLIPPED_SHARE


def load_audio(path: Path, *, rate: int = SAMPLE_RATE, min_seconds: float = MIN_SECONDS) -> Audio:
    """Read a WAV/FLAC file as mono float32 at `rate` Hz.

    Errors (one line each): not an audio file, shorter than `min_seconds`, silent.
    Clipping is measured (share of samples at full scale) and left to the caller to report.
    """
    import soundfile

    path = Path(path)
    if not path.is_file():
        raise VoiceError(f"{path} does not exist or is not a file; check the path")
    try:
        data, original_rate = soundfile.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, soundfile.LibsndfileError) as exc:
        raise VoiceError(
            f"{path} is not a readable WAV/FLAC file ({str(exc).splitlines()[0]}); "
            "record or convert it to WAV"
        ) from None
    channels = data.shape[1]
    clipped_share = float(np.mean(np.abs(data) >= 0.999)) if data.size else 0.0
    mono = data.mean(axis=1) if channels > 1 else data[:, 0]
    seconds = len(mono) / original_rate if original_rate else 0.0
    if seconds < min_seconds:
        raise VoiceError(
            f"{path} is {seconds:.2f} s long; record at least {min_seconds:g} s of speech"
        )
    if not np.all(np.isfinite(mono)):
        raise VoiceError(f"{path} holds non-finite samples; re-record or re-export it")
    if float(np.max(np.abs(mono))) < SILENCE_PEAK:
        raise VoiceError(f"{path} is silent; check the microphone and record again")
    if original_rate != rate:
        librosa = load_librosa()

        mono = librosa.resample(mono, orig_sr=original_rate, target_sr=rate)
    return Audio(
        samples=np.ascontiguousarray(mono, dtype=np.float32),
        rate=rate,
        original_rate=int(original_rate),
        original_channels=int(channels),
        clipped_share=clipped_share,
    )
