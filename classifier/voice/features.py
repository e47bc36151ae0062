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

import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.voice.dataset import SAMPLE_RATE, load_audio
from classifier.voice.errors import VoiceError
from classifier.voice.librosa_loader import load_librosa

FEATURE_SETS: tuple[str, ...] = ("reference", "extended")
# Bump when a feature's definition changes, so old cache entries are not reused.
FEATURE_VERSION = 2
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
    librosa = load_librosa()

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
    librosa = load_librosa()

    spec = np.abs(librosa.stft(samples, n_fft=N_FFT, hop_length=HOP))
    power = spec**2
    mel_basis, chroma_basis, freqs = _filter_banks(rate)
    mfcc = librosa.feature.mfcc(S=librosa.power_to_db(mel_basis @ power), n_mfcc=20)
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
            _chroma(chroma_basis, power),
            librosa.feature.zero_crossing_rate(samples, frame_length=N_FFT, hop_length=HOP)[:, :n],
            _spectral_shape(spec, power, freqs),
        ]
    )
    rms_db = 20.0 * np.log10(rms[0] + 1e-10)
    sounding = rms_db > rms_db.max() - SOUNDING_DB
    if sounding.sum() < 3:
        sounding[:] = True
    summary = _summary(frames[:, sounding], ("mean", "std", "min", "max", "median"))

    # A 1,024-sample yin frame covers 3 periods at 65 Hz and costs a third of 2,048.
    f0 = librosa.yin(samples, fmin=65.0, fmax=500.0, sr=rate, frame_length=1024, hop_length=HOP)
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


@functools.lru_cache(maxsize=4)
def _filter_banks(rate: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mel (128 x bins) and chroma (12 x bins) filter banks and bin frequencies (Hz), built once."""
    librosa = load_librosa()

    # float32 like the spectrogram: a mixed-precision product is several times slower.
    return (
        librosa.filters.mel(sr=rate, n_fft=N_FFT).astype(np.float32),
        librosa.filters.chroma(sr=rate, n_fft=N_FFT, tuning=0.0).astype(np.float32),
        librosa.fft_frequencies(sr=rate, n_fft=N_FFT).astype(np.float32),
    )


def _chroma(basis: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Chroma `(12, n_frames)`, each frame scaled to a peak of 1 (librosa's chroma_stft, tuning 0).

    Speech has no tuning to estimate; skipping librosa's estimate saves most of the cost.
    """
    chroma = basis @ power
    peak = chroma.max(axis=0, keepdims=True)
    return np.where(peak > 0, chroma / np.where(peak > 0, peak, 1.0), 0.0)


def _spectral_shape(spec: np.ndarray, power: np.ndarray, freqs: np.ndarray) -> np.ndarray:
    """`(4, n_frames)`: log centroid, log bandwidth, log 85% roll-off (Hz + 1), flatness.

    The same definitions as librosa's spectral_* functions, computed in one pass.
    """
    total = np.maximum(spec.sum(axis=0, keepdims=True), 1e-10)
    weights = spec / total
    centroid = (freqs[:, None] * weights).sum(axis=0)
    bandwidth = np.sqrt((weights * (freqs[:, None] - centroid) ** 2).sum(axis=0))
    cumulative = np.cumsum(spec, axis=0)
    above = cumulative >= 0.85 * cumulative[-1:]
    rolloff = freqs[np.argmax(above, axis=0)]
    floored = np.maximum(power, 1e-10)
    flatness = np.exp(np.log(floored).mean(axis=0)) / floored.mean(axis=0)
    return np.vstack(
        [np.log(centroid + 1.0), np.log(bandwidth + 1.0), np.log(rolloff + 1.0), flatness]
    )


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
