"""Per-clip feature vectors: the published reference recipe and the extended set.

Both work on frames of 2,048 samples with a hop of 512 (93 ms / 23 ms at
22,050 Hz) and summarise each frame-level feature over the clip.

- `reference`: 13 MFCC + delta + delta-delta + RMS energy (40 rows), each
  summarised by mean, max, min and standard deviation -> 160 values.
- `extended`: 20 MFCC + delta + delta-delta, RMS, spectral contrast (7),
  chroma (12), zero-crossing rate, centroid, bandwidth, roll-off, flatness
  (85 rows) summarised by mean, std, min, max, median over the frames that hold
  sound (silence before and after speech would otherwise dilute every mean),
  plus pitch (log2 f0 over voiced frames: mean, std, min, max, median, range)
  and the share of sounding frames -> 432 values.

Vectors are cached as one `.npz` per clip and feature set, keyed by the file's
resolved path, size and modification time, so repeated evaluation skips the
expensive part.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.voice.dataset import SAMPLE_RATE, load_audio
from classifier.voice.errors import VoiceError

FEATURE_SETS: tuple[str, ...] = ("reference", "extended")
# Bump when a feature's definition changes, so old cache entries are not reused.
FEATURE_VERSION = 1
N_FFT = 2048
HOP = 512
# Frames quieter than this (dB below the clip's loudest frame) count as silence.
SOUNDING_DB = 35.0

Progress = Callable[[int, int], None]


def _summary(frames: np.ndarray, stats: Sequence[str]) -> np.ndarray:
    """Summarise `(rows, n_frames)` into `(rows * len(stats),)`, grouped stat by stat."""
    funcs = {
        "mean": np.mean,
        "max": np.max,
        "min": np.min,
        "std": np.std,
        "median": np.median,
    }
    return np.concatenate([funcs[s](frames, axis=1) for s in stats])


def reference_features(samples: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The reference recipe: `(n_samples,)` float mono -> `(160,)` float32."""
    import librosa

    mfcc = librosa.feature.mfcc(y=samples, sr=rate, n_mfcc=13, n_fft=N_FFT, hop_length=HOP)
    width = _delta_width(mfcc.shape[1])
    rms = librosa.feature.rms(y=samples, frame_length=N_FFT, hop_length=HOP)
    frames = np.vstack(
        [
            mfcc,
            librosa.feature.delta(mfcc, width=width),
            librosa.feature.delta(mfcc, order=2, width=width),
            rms[:, : mfcc.shape[1]],
        ]
    )
    return _summary(frames, ("mean", "max", "min", "std")).astype(np.float32)


def _delta_width(n_frames: int) -> int:
    # librosa's delta needs width <= n_frames (odd, >= 3); 0.5 s gives 22 frames.
    return max(3, min(9, n_frames if n_frames % 2 else n_frames - 1))


def extended_features(samples: np.ndarray, rate: int = SAMPLE_RATE) -> np.ndarray:
    """The extended set: `(n_samples,)` float mono -> `(432,)` float32 (see module doc)."""
    import librosa

    spec = np.abs(librosa.stft(samples, n_fft=N_FFT, hop_length=HOP))
    power = spec**2
    mel = librosa.feature.melspectrogram(S=power, sr=rate)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel), n_mfcc=20)
    n = mfcc.shape[1]
    width = _delta_width(n)
    rms = librosa.feature.rms(S=spec, frame_length=N_FFT)
    frames = np.vstack(
        [
            mfcc,
            librosa.feature.delta(mfcc, width=width),
            librosa.feature.delta(mfcc, order=2, width=width),
            rms,
            librosa.feature.spectral_contrast(S=spec, sr=rate),
            librosa.feature.chroma_stft(S=power, sr=rate),
            librosa.feature.zero_crossing_rate(samples, frame_length=N_FFT, hop_length=HOP)[:, :n],
            np.log(librosa.feature.spectral_centroid(S=spec, sr=rate) + 1.0),
            np.log(librosa.feature.spectral_bandwidth(S=spec, sr=rate) + 1.0),
            np.log(librosa.feature.spectral_rolloff(S=spec, sr=rate) + 1.0),
            librosa.feature.spectral_flatness(S=spec),
        ]
    )
    rms_db = 20.0 * np.log10(rms[0] + 1e-10)
    sounding = rms_db > rms_db.max() - SOUNDING_DB
    if sounding.sum() < 3:
        sounding[:] = True
    summary = _summary(frames[:, sounding], ("mean", "std", "min", "max", "median"))

    f0 = librosa.yin(samples, fmin=65.0, fmax=500.0, sr=rate, frame_length=N_FFT, hop_length=HOP)
    f0 = f0[: len(sounding)][sounding[: len(f0)]]
    # yin always answers; frames at its limits are unvoiced guesses.
    voiced = f0[(f0 > 66.0) & (f0 < 495.0)]
    if len(voiced) < 3:
        pitch = np.zeros(6)
    else:
        logf = np.log2(voiced)
        lo, hi = np.percentile(logf, [10, 90])
        pitch = np.array([logf.mean(), logf.std(), lo, hi, np.median(logf), hi - lo])
    return np.concatenate([summary, pitch, [sounding.mean()]]).astype(np.float32)


_EXTRACTORS = {"reference": reference_features, "extended": extended_features}


def features_of(samples: np.ndarray, feature_set: str, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Feature vector of mono samples at `rate` Hz for `feature_set`."""
    try:
        extractor = _EXTRACTORS[feature_set]
    except KeyError:
        raise VoiceError(
            f"unknown feature set {feature_set!r}; choose one of {', '.join(FEATURE_SETS)}"
        ) from None
    return extractor(samples, rate)


def cache_key(path: Path, feature_set: str) -> str:
    """Stable key for one file's features: resolved path, size, mtime, set, version."""
    st = path.stat()
    text = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{feature_set}|{FEATURE_VERSION}"
    return hashlib.sha1(text.encode()).hexdigest()


@dataclass(frozen=True)
class Extracted:
    """Features of the files that could be read: `matrix` is `(len(kept), n_features)`."""

    matrix: np.ndarray
    kept: list[int]  # indices into the input paths
    skipped: list[tuple[Path, str]]  # (file, one-line reason)
    from_cache: int


def _extract_one(path: Path, feature_set: str) -> tuple[np.ndarray | None, str]:
    try:
        audio = load_audio(path)
        return features_of(audio.samples, feature_set, audio.rate), ""
    except VoiceError as exc:
        return None, str(exc)


def extract_files(
    paths: Sequence[Path],
    feature_set: str,
    *,
    cache_dir: Path | None = None,
    n_jobs: int = 2,
    progress: Progress | None = None,
) -> Extracted:
    """Features of many files, from the cache where possible, in at most `n_jobs` processes.

    Files that cannot be used (not audio, silent, too short) are skipped and listed
    with the reason; they are not cached, so fixing a file takes effect.
    """
    if feature_set not in FEATURE_SETS:
        features_of(np.zeros(1, dtype=np.float32), feature_set)  # raises the one-line error
    paths = [Path(p) for p in paths]
    results: list[np.ndarray | None] = [None] * len(paths)
    reasons: dict[int, str] = {}
    todo: list[int] = []
    cache_files: dict[int, Path] = {}
    for i, path in enumerate(paths):
        if cache_dir is not None and path.exists():
            cached = cache_dir / f"{cache_key(path, feature_set)}.npz"
            cache_files[i] = cached
            if cached.exists():
                try:
                    with np.load(cached) as npz:
                        results[i] = npz["features"]
                    continue
                except (OSError, KeyError, ValueError):
                    pass  # a damaged cache entry is recomputed
        todo.append(i)
    from_cache = len(paths) - len(todo)
    done = from_cache
    if progress:
        progress(done, len(paths))

    if n_jobs > 1 and len(todo) > 8:
        from joblib import Parallel, delayed

        outputs = Parallel(n_jobs=n_jobs, return_as="generator", batch_size=4)(
            delayed(_extract_one)(paths[i], feature_set) for i in todo
        )
    else:
        outputs = (_extract_one(paths[i], feature_set) for i in todo)
    for i, (vector, reason) in zip(todo, outputs, strict=True):
        if vector is None:
            reasons[i] = reason
        else:
            results[i] = vector
            if i in cache_files:
                cache_files[i].parent.mkdir(parents=True, exist_ok=True)
                tmp = cache_files[i].with_suffix(".tmp.npz")
                np.savez(tmp, features=vector)
                tmp.replace(cache_files[i])
        done += 1
        if progress:
            progress(done, len(paths))

    kept = [i for i, r in enumerate(results) if r is not None]
    width = len(results[kept[0]]) if kept else 0
    matrix = (
        np.vstack([results[i] for i in kept]).astype(np.float32)
        if kept
        else np.zeros((0, width), dtype=np.float32)
    )
    skipped = [(paths[i], reasons[i]) for i in sorted(reasons)]
    return Extracted(matrix=matrix, kept=kept, skipped=skipped, from_cache=from_cache)
