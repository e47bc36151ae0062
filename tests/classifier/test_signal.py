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


def test_a_bad_electrode_is_masked_and_the_window_still_read() -> None:
    """Per electrode, not per window: flat, clipped and muscle electrodes are masked; mains
    pickup that the notch removes is reported, not masked (SYNTHETIC EEG)."""
    rng = np.random.default_rng(0)
    base = synthetic_muse_eeg(30, "calm", seed=4, n_channels=4, line_noise_hz=50.0)
    base = base.astype(np.float64)
    flat = base.copy()
    flat[:, 0] = 3.0  # TP9 not touching skin
    mains = base.copy()
    mains[:, 3] += 200 * np.sin(2 * np.pi * 50 * np.arange(len(base)) / RATE)  # TP10
    clench = base.copy()
    clench_at = slice(int(15 * RATE), int(25 * RATE))
    clench[clench_at, 3] += rng.normal(0, 150, 10 * int(RATE))  # 10 s of muscle (EMG) on TP10
    clipped = base.copy()
    clipped[::8, 1] = -1000.0  # AF7 at the ADC's rail for 1 sample in 8 (12%)
    ts = stamps(len(base))
    got = {}
    for name, x in {
        "flat": flat,
        "mains": mains,
        "clench": clench,
        "clipped": clipped,
        "clean": base,
    }.items():
        got[name] = recording_windows(x, ts, MUSELSL_CHANNELS[:4], RATE)
    for name in got:
        assert all(r is None for r in got[name].reasons), name  # every window still read
    order = list(MUSE_MODEL_CHANNELS)  # TP9, AF7, TP10, AF8

    def masked(name: str) -> set[str]:
        w = got[name]
        return {order[c] for c in range(4) if not w.channel_ok[:, c].all()}

    assert masked("clean") == set() and masked("mains") == set()
    assert masked("flat") == {"TP9"} and masked("clipped") == {"AF7"}
    assert masked("clench") == {"TP10"}
    during = (got["clench"].start_times >= 1015.0) & (got["clench"].end_times <= 1025.0)
    issues = {
        q["TP10"].get("issue") for q, d in zip(got["clench"].quality, during, strict=True) if d
    }
    assert issues and issues <= {"muscle", "amplitude"}  # every window inside: masked
    assert {q["TP9"]["issue"] for q in got["flat"].quality} == {"flat signal"}
    assert {q["AF7"]["issue"] for q in got["clipped"].quality} == {"saturated"}
    assert min(q["TP10"]["line_noise_share"] for q in got["mains"].quality) > 0.5
    assert max(q["TP10"]["line_noise_share"] for q in got["clean"].quality) < 0.05


def test_a_window_with_too_few_usable_electrodes_is_rejected_naming_them() -> None:
    x = synthetic_muse_eeg(10, "calm", seed=7, n_channels=4).astype(np.float64)
    x[:, 0] = 3.0  # TP9 flat
    x[:, 1] = 5.0  # AF7 flat
    x[:, 2] = np.where(np.arange(len(x)) % 4 == 0, 1000.0, x[:, 2])  # AF8 clipped 25%
    w = recording_windows(x, stamps(len(x)), MUSELSL_CHANNELS[:4], RATE)
    assert len(w) == 7
    assert all(
        r == "1 of 4 electrodes usable (TP9 flat signal, AF7 flat signal, AF8 saturated)"
        for r in w.reasons
    )
    assert w.channel_ok.sum(axis=1).tolist() == [1] * 7


def test_amplitude_limit_follows_the_wearers_own_level() -> None:
    """A head whose forehead runs at 300 µV keeps its windows; a burst 10x its own level is
    masked on that electrode only (SYNTHETIC EEG)."""
    x = synthetic_muse_eeg(40, "calm", seed=8, n_channels=4).astype(np.float64)
    x[:, 1] *= 300.0 / np.abs(x[:, 1]).max()  # AF7 loud for the whole take
    burst = slice(int(30 * RATE), int(31 * RATE))
    x[burst, 2] += 10 * x[:, 2].std() * np.sin(np.linspace(0, 20, burst.stop - burst.start))
    w = recording_windows(x, stamps(len(x)), MUSELSL_CHANNELS[:4], RATE)
    af7, af8 = list(MUSE_MODEL_CHANNELS).index("AF7"), list(MUSE_MODEL_CHANNELS).index("AF8")
    assert w.channel_ok[:, af7].all()
    hit = (w.start_times - 1000.0 <= 30.5) & (w.end_times - 1000.0 >= 30.5)
    assert not w.channel_ok[hit, af8].any() and w.channel_ok[~hit, af8].mean() > 0.9
    assert all(q["AF8"]["issue"] == "amplitude" for q, h in zip(w.quality, hit, strict=True) if h)


def test_jittered_stamps_stay_one_stretch_and_a_real_gap_splits() -> None:
    """muselsl stamps chunks of 12 on arrival: duplicate and slightly backward stamps are
    jitter, dejittered by a line fit; only missing samples split a recording."""
    rng = np.random.default_rng(1)
    n = int(20 * RATE)
    true_t = 1000.0 + np.arange(n) / RATE
    jittered = true_t + np.repeat(rng.uniform(-0.003, 0.003, n // 12 + 1), 12)[:n]
    jittered[100] = jittered[99]  # a duplicate
    jittered[500] = jittered[499] - 0.001  # a backward step
    assert split_at_gaps(jittered, RATE) == [(0, n)]
    x = synthetic_muse_eeg(20, "calm", seed=2, n_channels=4)
    w = recording_windows(x, jittered, MUSELSL_CHANNELS[:4], RATE)
    assert len(w) == 17
    np.testing.assert_allclose(w.start_times, 1000.0 + np.arange(17), atol=0.002)
    gapped = true_t.copy()
    gapped[n // 2 :] += 0.5  # half a second of samples missing
    assert split_at_gaps(gapped, RATE) == [(0, n // 2), (n // 2, n)]


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


def test_the_listener_warns_once_when_an_electrode_has_been_bad_for_30_s() -> None:
    """SYNTHETIC EEG with AF8 off the skin from 10 s on: one warning, when 30 s of windows
    in a row have had it bad, naming it and what to do; never again."""
    from classifier.quality import ContactWatch
    from classifier.synthetic import loose_electrode

    x = synthetic_muse_eeg(60, "calm", seed=9, n_channels=4).astype(np.float64)
    x[int(10 * RATE) :, 2] = loose_electrode(len(x) - int(10 * RATE))
    w = recording_windows(x, stamps(len(x), t0=0.0), MUSELSL_CHANNELS[:4], RATE)
    watch = ContactWatch(after_s=30.0)
    warnings = [
        (end, hit) for end, q in zip(w.end_times, w.quality, strict=True)
        for hit in watch.observe(end, q)
    ]  # fmt: skip
    assert [hit for _, hit in warnings] == [("AF8", "saturated")]
    first_bad = min(e for e, q in zip(w.end_times, w.quality, strict=True) if q["AF8"]["good"] == 0)
    assert warnings[0][0] == pytest.approx(first_bad + 30.0)
