"""The pure signal path: channel order, resampling, filtering, gaps, windows, quality."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.errors import ClassifierError
from classifier.signal import (
    MODEL_RATE_HZ,
    MUSE_MODEL_CHANNELS,
    MUSELSL_CHANNELS,
    bandpass_notch,
    pick_channels,
    recording_windows,
    resample,
    resample_factors,
    split_at_gaps,
)
from classifier.synthetic import synthetic_muse_eeg

RATE = 256.0


def stamps(n: int, t0: float = 1000.0) -> np.ndarray:
    return t0 + np.arange(n) / RATE


def test_channels_are_put_in_tsception_hemisphere_order() -> None:
    samples = np.tile(np.arange(5, dtype=np.float32), (3, 1))  # column i holds value i
    picked = pick_channels(samples, MUSELSL_CHANNELS, MUSE_MODEL_CHANNELS)
    # muselsl: TP9=0, AF7=1, AF8=2, TP10=3 -> TSCeption: TP9, AF7, TP10, AF8
    assert picked[0].tolist() == [0, 1, 3, 2]


def test_a_missing_channel_is_named() -> None:
    with pytest.raises(ClassifierError, match="AF8 are missing"):
        pick_channels(np.zeros((4, 3)), ["TP9", "AF7", "TP10"], MUSE_MODEL_CHANNELS)


@pytest.mark.parametrize("rate", [100.0, 250.0, float("nan")])
def test_rates_that_cannot_reach_128_hz_are_refused(rate: float) -> None:
    with pytest.raises(ClassifierError, match="Hz"):
        resample_factors(rate)


def test_256_hz_halves_to_128_hz_and_keeps_a_10_hz_rhythm() -> None:
    assert resample_factors(256.0) == (1, 2)
    t = np.arange(2048) / RATE
    x = np.sin(2 * np.pi * 10 * t)[:, None].astype(np.float32)
    y = resample(x, RATE)
    assert y.shape == (1024, 1)
    spectrum = np.abs(np.fft.rfft(y[:, 0]))
    assert np.fft.rfftfreq(1024, 1 / MODEL_RATE_HZ)[spectrum.argmax()] == pytest.approx(10, abs=0.2)


@pytest.mark.parametrize("line_hz", [50.0, 60.0])
def test_filter_removes_dc_drift_and_mains_but_keeps_alpha(line_hz: float) -> None:
    t = np.arange(4096) / MODEL_RATE_HZ
    alpha = 10 * np.sin(2 * np.pi * 10 * t)
    x = (800 + 5 * t + alpha + 20 * np.sin(2 * np.pi * line_hz * t))[:, None]
    y = bandpass_notch(x, line_noise_hz=line_hz)[512:-512, 0]
    assert abs(y.mean()) < 1.0
    assert np.std(y - alpha[512:-512]) < 1.5  # mains and drift gone, alpha intact


def test_gaps_and_backward_jumps_split_the_recording() -> None:
    ts = stamps(1000)
    ts[400:] += 2.0  # a 2 s Bluetooth drop
    ts[700:] -= 10.0  # clock jumped back
    assert split_at_gaps(ts, RATE) == [(0, 400), (400, 700), (700, 1000)]
    small_jitter = stamps(1000) + np.random.default_rng(0).normal(0, 0.0005, 1000)
    assert split_at_gaps(np.sort(small_jitter), RATE) == [(0, 1000)]


def test_windows_never_span_a_gap() -> None:
    x = synthetic_muse_eeg(30, "calm", seed=1)
    ts = stamps(len(x))
    ts[int(10.5 * RATE) :] += 5.0  # gap after 10.5 s
    w = recording_windows(x, ts, MUSELSL_CHANNELS, RATE)
    gap_start, gap_end = ts[0] + 10.5, ts[0] + 15.5
    assert len(w) == (7 + 16)  # 10.5 s -> 7 windows, 19.5 s -> 16 windows (4 s, 1 s stride)
    assert w.data.shape == (23, 4, 512)
    assert all(
        end <= gap_start + 1e-6 or start >= gap_end - 1e-6
        for start, end in zip(w.start_times, w.end_times, strict=True)
    )  # noqa: E501
    assert np.allclose(w.end_times - w.start_times, 4.0)


def test_a_recording_shorter_than_a_window_gives_none_and_aux_is_optional() -> None:
    x = synthetic_muse_eeg(3.5, "sad", seed=2, n_channels=4)
    w = recording_windows(x, stamps(len(x)), MUSELSL_CHANNELS[:4], RATE)
    assert len(w) == 0 and w.data.shape == (0, 4, 512)


def test_nan_windows_are_kept_rejected_with_a_reason() -> None:
    x = synthetic_muse_eeg(10, "happy", seed=3)
    x[int(1.5 * RATE), 2] = np.nan  # AF8 at 1.5 s
    x[int(1.6 * RATE), 1] = np.inf
    w = recording_windows(x, stamps(len(x)), MUSELSL_CHANNELS, RATE)
    assert len(w) == 7
    assert w.reasons[0] is not None and w.reasons[0].startswith("NaN/inf")
    assert w.reasons[1] is not None  # window 1-5 s also holds 1.5 s
    assert w.reasons[2] is None  # 2-6 s is clean
    assert np.isfinite(w.data).all()


def test_quality_flags_flat_line_noise_jaw_clench_and_blinks() -> None:
    rng = np.random.default_rng(0)
    base = synthetic_muse_eeg(12, "calm", seed=4, n_channels=4, line_noise_hz=50.0)
    base = base.astype(np.float64)
    flat = base.copy()
    flat[:, 0] = 3.0  # TP9 not touching skin
    mains = base.copy()
    mains[:, 3] += 200 * np.sin(2 * np.pi * 50 * np.arange(len(base)) / RATE)  # TP10
    clench = base.copy()
    clench[:, 3] += rng.normal(0, 80, len(base))  # broadband muscle (EMG) on TP10
    ts = stamps(len(base))
    reasons = {}
    for name, x in {"flat": flat, "mains": mains, "clench": clench, "clean": base}.items():
        reasons[name] = recording_windows(x, ts, MUSELSL_CHANNELS[:4], RATE).reasons
    assert all(r == "flat signal on TP9" for r in reasons["flat"])
    assert all(r == "line noise on TP10" for r in reasons["mains"])
    assert all(r is not None and "TP10" in r for r in reasons["clench"])
    assert all(r is None for r in reasons["clean"])


def test_blinks_are_counted_on_frontal_channels_only() -> None:
    x = synthetic_muse_eeg(8, "calm", seed=5, n_channels=4).astype(np.float64)
    t = np.arange(len(x)) / RATE
    blink = 150 * np.exp(-(((t - 2.0) / 0.1) ** 2))
    x[:, 1] += blink  # AF7
    x[:, 2] += blink  # AF8
    w = recording_windows(x, stamps(len(x)), MUSELSL_CHANNELS[:4], RATE)
    first = w.quality[0]
    assert first["AF7"]["blink"] == 1.0 and first["AF8"]["blink"] == 1.0
    assert first["TP9"]["blink"] == 0.0
    assert set(first["AF7"]) >= {"std_uv", "peak_uv", "line_noise_share", "emg_share", "flat"}


def test_windowing_is_deterministic() -> None:
    x = synthetic_muse_eeg(9, "tense", seed=6)
    a = recording_windows(x, stamps(len(x)), MUSELSL_CHANNELS, RATE)
    b = recording_windows(x.copy(), stamps(len(x)), MUSELSL_CHANNELS, RATE)
    assert np.array_equal(a.data, b.data) and a.quality == b.quality


def test_cached_zero_phase_filter_equals_scipy_sosfiltfilt() -> None:
    from scipy.signal import sosfiltfilt

    from classifier.signal import _filter_bank

    x = np.random.default_rng(3).normal(0, 20, (4, 700))
    sos, _ = _filter_bank(128.0, 60.0, (1.0, 45.0))
    ours = bandpass_notch(x, line_noise_hz=60.0, axis=1)
    assert np.allclose(ours, sosfiltfilt(sos, x, axis=1), atol=1e-3)
    assert np.allclose(bandpass_notch(x.T, line_noise_hz=60.0), ours.T)
