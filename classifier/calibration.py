"""Calibration: a model fine-tuned on one wearer's self-rated tracks, and proof it helps.

- `calibrate`: the one fine-tuning step (from a base model, on a wearer's rated windows);
- `cross_validate_tracks`: that step scored on tracks it never saw (leave-one-track-out, or
  k folds by track when there are many), one decision per track as the tag makes it;
- `fine_tune`: what `emotune model calibrate` runs: the cross-validation, the verdict
  (does the calibrated model beat the base model and the majority class on held-out
  tracks?) and, when it does or is forced, the model refitted on all tracks, saved.

The new-wearer protocol in classifier.new_wearer uses `calibrate` too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from classifier.alignment import NO_ALIGNMENT
from classifier.datasets import WindowSet, concat
from classifier.errors import ClassifierError
from classifier.model import OUTPUTS, load_checkpoint, save_checkpoint
from classifier.quality import QualityHistory
from classifier.signal import MUSE_MODEL_CHANNELS, recording_windows
from classifier.training import (
    TrainConfig,
    TrainedModel,
    checkpoint_from,
    fit,
    fit_temperature,
)

# Calibration windows every 4 s (no overlap): a 3-minute track gives ~45 windows, which
# keeps `model calibrate` on a dozen tracks within a minute on 2 cores.
CALIBRATION_STRIDE_S = 4.0
# Up to this many rated tracks each is held out in turn; above, k folds by track.
LEAVE_ONE_OUT_UP_TO = 8
TRACK_FOLDS = 4
QUADRANT_OF = {(1, 1): "happy", (1, 0): "calm", (0, 0): "sad", (0, 1): "tense"}


def calibration_config(seed: int = 0, epochs: int = 8) -> TrainConfig:
    """Fine-tuning settings: a fixed, small number of epochs on every rated window.

    No validation split: a few tracks leave nothing worth holding out inside a fold (the
    cross-validation by track is the check), and smaller batches give a few hundred
    windows enough steps.
    """
    return TrainConfig(
        max_epochs=epochs,
        lr=1e-3,
        batch_size=32,
        val_fraction=0.0,
        progress=False,
        seed=seed,
        centre_logits=False,  # the wearer's ratings teach the model their own leaning
    )


@dataclass(frozen=True)
class CalibrationSegment:
    """EEG recorded during one self-rated listen.

    samples: [n, C] µV at rate_hz, one label per column (muselsl labels, any order);
    timestamps: [n] seconds; valence/arousal: the listener's 1-5 ratings (None = unrated);
    group: what is held out together (the track id), so no track is on both sides.
    """

    samples: np.ndarray
    timestamps: np.ndarray
    channel_labels: Sequence[str]
    rate_hz: float
    valence: float | None
    arousal: float | None
    group: str


@dataclass
class CalibrationResult:
    """The verdict of one calibration.

    metrics: per dimension, on held-out tracks (one decision per track): the calibrated
    model's and the base model's track accuracy, the majority-class rate of the rated
    tracks, a 95% interval, window-level balanced accuracy and ECE; plus "protocol".
    beats_base_and_majority: the calibrated model is better than both on every dimension
    it was calibrated on; path: the saved checkpoint (None when nothing was saved);
    advice: one line on what to rate next when it does not beat them.
    """

    metrics: dict[str, Any]
    tracks: list[str]
    n_windows: int
    beats_base_and_majority: bool
    advice: str
    path: Path | None = None
    notes: list[str] = field(default_factory=list)


def segments_to_windows(
    segments: Sequence[CalibrationSegment], line_noise_hz: float, stride_s: float
) -> WindowSet:
    """One WindowSet of the wearer's rated listens (subject "wearer", trial = track)."""
    sets = []
    # One wearer: every listen is judged against the same recent windows, in order.
    history = QualityHistory(len(MUSE_MODEL_CHANNELS))
    for seg in segments:
        for name, value in (("valence", seg.valence), ("arousal", seg.arousal)):
            if value is not None and not 1 <= value <= 5:
                raise ClassifierError(f"calibration track {seg.group}: {name} {value} outside 1-5")
        w = recording_windows(
            seg.samples,
            seg.timestamps,
            seg.channel_labels,
            seg.rate_hz,
            stride_s=stride_s,
            line_noise_hz=line_noise_hz,
            history=history,
        )
        n = len(w)
        if n == 0:
            continue
        nan = float("nan")
        sets.append(
            WindowSet(
                data=w.data,
                valence=np.full(n, nan if seg.valence is None else float(seg.valence)),
                arousal=np.full(n, nan if seg.arousal is None else float(seg.arousal)),
                subject=np.full(n, "wearer", dtype=object),
                trial=np.full(n, str(seg.group), dtype=object),
                position=np.arange(n),
                rejected=np.array([r is not None for r in w.reasons]),
                channel_ok=w.channel_ok,
            )
        )
    if not sets:
        raise ClassifierError(
            "no rated listen is long enough for one 4 s window; rate tracks you listened to "
            "for a while with the headset on"
        )
    return concat(sets, description=f"calibration on {len(segments)} self-rated listens")


def calibrate(base: TrainedModel, rated: WindowSet, config: TrainConfig) -> TrainedModel:
    """Fine-tune `base` on a wearer's rated windows (aligned as the base model expects).

    A dimension rated on one side only is not fine-tuned (its head keeps the base model's
    temperature); ClassifierError when neither dimension has two classes.
    """
    from dataclasses import replace

    cfg = replace(config, alignment=base.alignment)
    rated = rated.aligned(base.alignment)
    # An aligned base model keeps its own input statistics (the wearer's scale is already
    # taken out); an unaligned one is moved to the wearer's own scale instead.
    norm = (base.norm_mean, base.norm_std) if base.alignment != NO_ALIGNMENT else _norm_of(rated)
    tuned = fit(
        rated,
        cfg,
        init_state=base.state_dict,
        norm=norm,
        where="calibration tracks",
        one_class="skip",
    )
    for j, dim in enumerate(OUTPUTS):
        if dim not in tuned.dimensions:
            tuned.temperature[j] = base.temperature[j]
    tuned.dimensions = sorted(set(tuned.dimensions) | set(base.dimensions), key=OUTPUTS.index)
    return tuned


def track_decisions(
    probs: np.ndarray, trials: np.ndarray, electrodes: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per trial/track, the tag's p(high) per output: the weighted mean of its windows'
    probabilities ([W, 2], [W] names -> {name: [2]}), as the store's tags are: weight =
    confidence x the share of the window's electrodes that were usable (electrodes [W])."""
    confidence = (np.abs(2 * probs[:, 0] - 1) + np.abs(2 * probs[:, 1] - 1)) / 2
    if electrodes is not None:
        confidence = confidence * electrodes
    out = {}
    for name in np.unique(trials):
        members = trials == name
        weights = confidence[members]
        if weights.sum() <= 0:
            out[name] = probs[members].mean(axis=0)
        else:
            out[name] = (probs[members] * weights[:, None]).sum(axis=0) / weights.sum()
    return out


def wilson_interval(hits: int, n: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (honest with a handful of tracks)."""
    if n == 0:
        return (0.0, 1.0)
    z = 1.959964
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4))


def track_folds(tracks: Sequence[str], seed: int) -> list[list[str]]:
    """Held-out track groups: each track alone up to LEAVE_ONE_OUT_UP_TO, else TRACK_FOLDS."""
    tracks = sorted(tracks)
    if len(tracks) <= LEAVE_ONE_OUT_UP_TO:
        return [[t] for t in tracks]
    order = np.random.default_rng(seed).permutation(len(tracks))
    return [sorted(tracks[i] for i in part) for part in np.array_split(order, TRACK_FOLDS)]


def cross_validate_tracks(
    base: TrainedModel, rated: WindowSet, config: TrainConfig
) -> tuple[dict[str, Any], np.ndarray]:
    """Calibration scored on held-out tracks: (metrics per dimension, temperature [2]).

    Every fold fine-tunes `base` on the other tracks and predicts the held-out ones; a fold
    whose training tracks hold one class only keeps the base model's answer (a listener with
    too few tracks gets exactly that). The temperature is fitted on those out-of-fold logits.
    """
    from classifier.baseline import BandPowerBaseline
    from classifier.evaluation import binary_metrics, expected_calibration_error

    features = wearer_features(rated.subset(np.flatnonzero(~rated.rejected)))[0]
    rated = rated.aligned(base.alignment)
    usable = rated.subset(np.flatnonzero(~rated.rejected))
    tracks = sorted(set(usable.trial.tolist()))
    folds = track_folds(tracks, config.seed)
    logits_cal = np.zeros((len(usable), len(OUTPUTS)))
    p_band = np.full((len(usable), len(OUTPUTS)), 0.5)
    fallback = np.zeros(len(usable), dtype=bool)
    for held in folds:
        is_test = np.isin(usable.trial, held)
        train = usable.subset(np.flatnonzero(~is_test))
        try:
            tuned = calibrate(base, train, config)
        except ClassifierError:
            tuned, fallback[is_test] = base, True
        # (a generic model that answers for a one-class fold centres on the wearer's mean)
        logits_cal[is_test] = (
            tuned.logits(usable.data[is_test]) - tuned.wearer_centre(usable.data)[is_test]
        )
        # The wearer's own band-power baseline, fitted on the same training tracks.
        band = BandPowerBaseline().fit(features[~is_test], {d: train.labels(d) for d in OUTPUTS})
        p_band[is_test] = band.predict(features[is_test])
    temperature = base.temperature.copy()
    for j, dim in enumerate(OUTPUTS):
        y = usable.labels(dim)
        rated_windows = ~np.isnan(y) & ~fallback
        if rated_windows.any():
            temperature[j] = fit_temperature(logits_cal[rated_windows, j], y[rated_windows])
    p_cal = 1.0 / (1.0 + np.exp(-np.clip(logits_cal / temperature, -60, 60)))
    p_base = base.predict(usable.data)
    p_comb = (p_cal + p_band) / 2
    electrodes = usable.ok.mean(axis=1)
    cal_tracks = track_decisions(p_cal, usable.trial, electrodes)
    base_tracks = track_decisions(p_base, usable.trial, electrodes)
    band_tracks = track_decisions(p_band, usable.trial, electrodes)
    comb_tracks = track_decisions(p_comb, usable.trial, electrodes)
    metrics: dict[str, Any] = {
        "protocol": (
            "leave-one-track-out" if len(folds) == len(tracks) else f"{len(folds)} folds by track"
        )
        + f" over {len(tracks)} rated tracks; one decision per track (its windows' "
        "confidence-weighted mean), as the tag is made",
        "folds_without_two_classes": int(
            sum(fallback[np.isin(usable.trial, h)].any() for h in folds)
        ),
    }
    for j, dim in enumerate(OUTPUTS):
        y = usable.labels(dim)
        rated_windows = ~np.isnan(y)
        if not rated_windows.any():
            continue
        truth = {t: int(y[usable.trial == t][0]) for t in np.unique(usable.trial[rated_windows])}
        names = sorted(truth)
        y_track = np.array([truth[t] for t in names])
        cal_hits = int(sum((cal_tracks[t][j] > 0.5) == truth[t] for t in names))
        base_hits = int(sum((base_tracks[t][j] > 0.5) == truth[t] for t in names))
        band_hits = int(sum((band_tracks[t][j] > 0.5) == truth[t] for t in names))
        comb_hits = int(sum((comb_tracks[t][j] > 0.5) == truth[t] for t in names))
        share = float(y_track.mean())
        window_cal = binary_metrics(y[rated_windows], p_cal[rated_windows, j] > 0.5)
        window_base = binary_metrics(y[rated_windows], p_base[rated_windows, j] > 0.5)
        metrics[dim] = {
            "tracks": len(names),
            "track_accuracy": round(cal_hits / len(names), 4),
            "track_accuracy_95ci": list(wilson_interval(cal_hits, len(names))),
            "base_track_accuracy": round(base_hits / len(names), 4),
            "baseline_track_accuracy": round(band_hits / len(names), 4),
            "combined_track_accuracy": round(comb_hits / len(names), 4),
            "majority_rate": round(max(share, 1 - share), 4),
            "window_balanced_accuracy": window_cal["balanced_accuracy"],
            "base_window_balanced_accuracy": window_base["balanced_accuracy"],
            "ece": expected_calibration_error(y[rated_windows], p_cal[rated_windows, j]),
            "base_ece": expected_calibration_error(y[rated_windows], p_base[rated_windows, j]),
            "n_windows": int(rated_windows.sum()),
        }
    return metrics, temperature


# Below this many rated tracks a held-out figure is too coarse to trust (1 track = 0 or 100%).
ENOUGH_TRACKS = 8


def rating_advice(rated: WindowSet) -> str:
    """One line on what to rate next: the quadrants missing and how many more tracks (the
    sides of the one dimension rated, for a listener who leaves the other blank)."""
    per_track: dict[str, tuple[float, float]] = {}
    for t, v, a in zip(rated.trial, rated.valence, rated.arousal, strict=True):
        per_track.setdefault(t, (v, a))
    both = any(not (np.isnan(v) or np.isnan(a)) for v, a in per_track.values())
    one = [
        dim
        for j, dim in enumerate(OUTPUTS)
        if any(not np.isnan(pair[j]) for pair in per_track.values())
    ]
    if not both and len(one) == 1:
        return _one_dimension_advice(per_track, one[0])
    counts = dict.fromkeys(QUADRANT_OF.values(), 0)
    for v, a in per_track.values():
        if not (np.isnan(v) or np.isnan(a)):
            counts[QUADRANT_OF[(int(v > 3), int(a > 3))]] += 1
    missing = [q for q, n in counts.items() if n == 0]
    more = max(2, len(missing), ENOUGH_TRACKS - len(per_track))
    have = ", ".join(f"{n} {q}" for q, n in counts.items() if n)
    wanted = f", including {' and '.join(missing)} ones" if missing else ", varied moods"
    return (
        f"rate {more} more tracks{wanted} (`emotune listen --rate` or `emotune rate`); "
        f"you have {len(per_track)} rated ({have or 'none with both ratings'})"
    )


def _one_dimension_advice(per_track: dict[str, tuple[float, float]], dim: str) -> str:
    j = OUTPUTS.index(dim)
    other = OUTPUTS[1 - j]
    values = [pair[j] for pair in per_track.values() if not np.isnan(pair[j])]
    counts = {"low (1-3)": sum(v <= 3 for v in values), "high (4-5)": sum(v > 3 for v in values)}
    missing = [side for side, n in counts.items() if n == 0]
    more = max(2, len(missing), ENOUGH_TRACKS - len(per_track))
    have = ", ".join(f"{n} {side}" for side, n in counts.items() if n)
    wanted = f", including {dim} {missing[0]} ones" if missing else f", {dim} on both sides"
    return (
        f"rate {more} more tracks{wanted} (`emotune listen --rate` or `emotune rate`); you "
        f"have {len(per_track)} rated on {dim} ({have}), {other} left blank"
    )


def wearer_features(
    ws: WindowSet,
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    """The band-power baseline's input for one wearer's (unaligned, µV) windows: ([W, F]
    z-scores, (mean [F], std [F])), the statistics over all of the wearer's windows (no
    rating is used, as for alignment), which a checkpoint keeps for live use."""
    from classifier.baseline import (
        apply_person_stats,
        band_power_features,
        person_stats,
        usable_features,
    )

    raw = band_power_features(ws.data)
    usable = usable_features(ws.ok)
    mean, std = person_stats(raw, usable)
    return apply_person_stats(raw, usable, mean, std), (mean, std)


# The held-out figure of each answer a calibrated model can give (classifier.baseline).
ANSWER_FIGURE = {
    "tsception": "track_accuracy",
    "combined": "combined_track_accuracy",
    "baseline": "baseline_track_accuracy",
}


def choose_answer(metrics: dict[str, Any], dims: Sequence[str]) -> str:
    """The answer with the best mean held-out track accuracy over the calibrated dimensions
    (ties go to TSCeption, then the two combined)."""
    scored = [metrics[d] for d in dims if d in metrics]
    if not scored:
        return "tsception"
    means = {a: float(np.mean([m[key] for m in scored])) for a, key in ANSWER_FIGURE.items()}
    return max(ANSWER_FIGURE, key=lambda a: means[a])  # max keeps the first of equals


def _beats(metrics: dict[str, Any], dims: Sequence[str], answer: str = "tsception") -> bool:
    key = ANSWER_FIGURE[answer]
    scored = [metrics[d] for d in dims if d in metrics]
    return bool(scored) and all(
        m[key] > m["base_track_accuracy"] and m[key] > m["majority_rate"] for m in scored
    )


def fine_tune(
    checkpoint_path: str | Path,
    segments: Sequence[CalibrationSegment],
    output_path: str | Path,
    *,
    config: TrainConfig | None = None,
    line_noise_hz: float = 50.0,
    model_name: str | None = None,
    force: bool = False,
) -> CalibrationResult:
    """Calibrate a checkpoint on one wearer's self-rated listens, and prove it on held-out
    tracks before keeping it.

    1. Window the listens (CALIBRATION_STRIDE_S apart), aligned as the base model expects.
    2. Cross-validate by track (`cross_validate_tracks`): calibrated vs base model vs the
       majority class, one decision per track, and a temperature from the held-out tracks;
       beside them the wearer's own band-power baseline and the two averaged, fitted on the
       same tracks. The answer with the best held-out accuracy is chosen
       (metrics["answer"]: tsception, baseline or combined).
    3. Only when that answer beats the base model and the majority class on every dimension
       it was calibrated on (or `force`): refit on all tracks, save to output_path (written
       whole or not at all); a baseline or combined answer stores the wearer's regression
       and feature statistics in the checkpoint, and the listener answers the same way.
       The figures are those of the procedure on held-out tracks; the saved model has seen
       every track.
    Raises ClassifierError (nothing written) for fewer than 2 tracks or no dimension rated
    on both sides.
    """
    ckpt = load_checkpoint(checkpoint_path)
    base = TrainedModel.from_checkpoint(ckpt)
    cfg = config or calibration_config()
    ws = segments_to_windows(segments, line_noise_hz, CALIBRATION_STRIDE_S)
    usable = ws.subset(np.flatnonzero(~ws.rejected))
    tracks = sorted(set(usable.trial.tolist()))
    if len(tracks) < 2:
        raise ClassifierError(
            f"calibration needs self-rated tracks with clean EEG on at least 2 tracks, found "
            f"{len(tracks)}; {rating_advice(ws)}"
        )
    try:
        from classifier.training import trainable_dimensions

        dims, notes = trainable_dimensions(usable, "your rated tracks", one_class="skip")
    except ClassifierError as exc:
        raise ClassifierError(f"{exc}; {rating_advice(ws)}") from None
    metrics, temperature = cross_validate_tracks(base, usable, cfg)
    for dim in OUTPUTS:
        if dim in metrics:  # a dimension rated on one side only is scored, not calibrated
            metrics[dim]["calibrated"] = dim in dims
    answer = choose_answer(metrics, dims)
    metrics["answer"] = answer
    beats = _beats(metrics, dims, answer)
    result = CalibrationResult(
        metrics=metrics,
        tracks=tracks,
        n_windows=len(ws),
        beats_base_and_majority=beats,
        advice="" if beats else rating_advice(ws),
        notes=notes,
    )
    if not (beats or force):
        return result
    final = calibrate(base, usable, cfg)
    final.temperature = temperature
    band_part = None
    if answer != "tsception":
        from classifier.baseline import BandPowerBaseline, WearerBandPower

        features, (mean, std) = wearer_features(usable)
        band = BandPowerBaseline().fit(features, {d: usable.labels(d) for d in dims})
        band_part = WearerBandPower(answer, mean, std, band).to_checkpoint()
    name = model_name or f"{ckpt['model_name']}-calibrated"
    new = checkpoint_from(
        final,
        model_name=name,
        trained_on={
            "description": f"{ckpt['trained_on'].get('description', ckpt['model_name'])}; "
            f"calibrated on {len(tracks)} self-rated tracks",
            "base_model": ckpt["model_name"],
            "synthetic": bool(ckpt["trained_on"].get("synthetic", False)),
            "calibrated": True,
        },
        metrics={"calibration": metrics},
    )
    if band_part is not None:
        new["band_power"] = band_part
    result.path = save_checkpoint(new, output_path)
    return result


def _norm_of(ws: WindowSet) -> tuple[np.ndarray, np.ndarray]:
    data = ws.data[~ws.rejected] if (~ws.rejected).any() else ws.data
    return data.mean(axis=(0, 2)), data.std(axis=(0, 2)) + 1e-6
