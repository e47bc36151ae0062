"""The new-wearer protocol: what a new wearer can expect after rating n tracks.

For every subject in turn (the "new wearer"):
1. a generic model is trained on all the other subjects (each aligned with its own EEG);
2. it is scored on this subject's trials (generic);
3. for n = 1, 2, ... rated trials of this subject (each class present where possible,
   several random draws per n), it is fine-tuned with calibration's own `calibrate` and
   scored on the subject's remaining trials (calibrated), beside the generic model on the
   same trials and the majority-class rate of those trials.

Figures are window-level balanced accuracy and trial-level accuracy: one decision per
trial (the confidence-weighted mean of its windows, as a track's tag is made), which is
what a listener acts on. Per subject and pooled, by n (a learning curve), with the worst
subject; as a JSON-ready dict and, optionally, a PNG.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from classifier.calibration import calibrate, calibration_config, track_decisions
from classifier.datasets import WindowSet
from classifier.errors import ClassifierError
from classifier.model import OUTPUTS
from classifier.training import TrainConfig, TrainedModel, fit, trial_classes

NOTE = (
    "new-wearer path: for each subject, a generic model trained on all other subjects, "
    "then fine-tuned on n rated trials of this subject and scored on the subject's other "
    "trials (one decision per trial, as a track's tag)"
)


def draw_rated_trials(
    classes: dict[str, tuple[float, float]], dim: str, n: int, rng: np.random.Generator
) -> list[str]:
    """n trials to rate, one of each class of `dim` first where possible, the rest at random."""
    j = OUTPUTS.index(dim)
    if n <= 0:
        return []
    by_class: dict[float, list[str]] = {}
    for trial, label in sorted(classes.items()):
        if not np.isnan(label[j]):
            by_class.setdefault(label[j], []).append(trial)
    first = [str(rng.choice(members)) for _, members in sorted(by_class.items())][:n]
    rest = [t for t in sorted(classes) if t not in first]
    extra = rng.choice(rest, size=min(n - len(first), len(rest)), replace=False).tolist()
    return first + [str(t) for t in extra]


def rating_pool(
    mine: WindowSet, classes: dict[str, tuple[float, float]], rng: np.random.Generator
) -> tuple[dict[str, tuple[float, float]], list[str]]:
    """(trials to draw the rated ones from, trials to test on) for one wearer.

    With a session column naming 2+ sittings, the rated trials come from one sitting (drawn
    at random) and the test trials from the others, as a wearer who rates today and listens
    another day; otherwise every trial is in both pools (rated ones are never tested).
    """
    session_of = {t: s for t, s in zip(mine.trial, mine.sessions, strict=True)}
    sessions = sorted({session_of[t] for t in classes} - {""})
    if len(sessions) < 2:
        return classes, list(classes)
    chosen = str(rng.choice(sessions))
    rated = {t: c for t, c in classes.items() if session_of[t] == chosen}
    return rated, [t for t in classes if session_of[t] != chosen]


def _score(
    probs: np.ndarray, ws: WindowSet, dim: str
) -> tuple[float, list[tuple[int, int]]] | None:
    """(window balanced accuracy, [(trial truth, trial decision)]) for one dimension."""
    from classifier.evaluation import binary_metrics

    j = OUTPUTS.index(dim)
    y = ws.labels(dim)
    rated = ~np.isnan(y)
    if not rated.any():
        return None
    window = binary_metrics(y[rated], probs[rated, j] > 0.5)["balanced_accuracy"]
    decisions = track_decisions(probs[rated], ws.trial[rated], ws.ok[rated].mean(axis=1))
    truth = {t: int(y[ws.trial == t][0]) for t in decisions}
    return window, [(truth[t], int(decisions[t][j] > 0.5)) for t in sorted(decisions)]


def _trial_accuracy(pairs: Sequence[tuple[int, int]]) -> float:
    return float(np.mean([t == p for t, p in pairs])) if pairs else float("nan")


def _majority(pairs: Sequence[tuple[int, int]]) -> float:
    share = float(np.mean([t for t, _ in pairs])) if pairs else 0.5
    return max(share, 1.0 - share)


def new_wearer_curve(
    ws: WindowSet,
    config: TrainConfig | None = None,
    *,
    n_values: Sequence[int] = (1, 2, 3, 4),
    draws: int = 3,
    calibration_epochs: int = 8,
    on_step: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Run the protocol on `ws` (several subjects, several trials each); the JSON report.

    Returns {"protocol": "calibration", "note", "data", "synthetic", "alignment",
    "n_windows", "rejected_share", "subjects": [per subject: trials, windows, rejected share,
    "generic" (all its trials) and "curve" per dimension, or "skipped" with the reason],
    "pooled": {dim: [per n: generic/calibrated trial accuracy, majority rate, window
    balanced accuracies, subjects, worst subject]}}. Rejected windows are neither trained
    nor scored; a subject left without two trials is reported as skipped.
    """
    from classifier.baseline import person_features
    from classifier.evaluation import kept_shares

    cfg = config or TrainConfig(progress=False)
    cal_cfg = calibration_config(cfg.seed, calibration_epochs)
    aligned = ws.aligned(cfg.alignment)
    clean = aligned.subset(np.flatnonzero(~aligned.rejected))
    # The baseline's features: each person z-scored with their own (unrated) windows.
    features = person_features(clean.data, clean.subject, clean.ok)
    subjects = sorted(set(ws.subject.tolist()))
    if len(subjects) < 2:
        raise ClassifierError(
            f"the calibration protocol needs 2+ subjects (a generic model is trained on the "
            f"others), the data has {len(subjects)}; add recordings of other people"
        )
    most_trials = max(len(set(ws.trial[ws.subject == s].tolist())) for s in subjects)
    if most_trials < 2:
        raise ClassifierError(
            "every subject in the labels file has one trial; the protocol rates some trials of "
            "a subject and tests on the others: record 2+ trials (tracks) per subject, "
            "ideally 4+ with both moods"
        )
    rng = np.random.default_rng(cfg.seed)
    per_subject: list[dict[str, Any]] = []
    # pooled[dim][n] -> lists over subjects of (generic pairs, calibrated pairs, windows...)
    pooled: dict[str, dict[int, list[dict[str, Any]]]] = {d: {} for d in OUTPUTS}
    for s_index, subject in enumerate(subjects):
        mine = clean.subset(np.flatnonzero(clean.subject == subject))
        mine_features = features[clean.subject == subject]
        entry: dict[str, Any] = {
            "subject": subject,
            "trials": len(set(ws.trial[ws.subject == subject].tolist())),
            "clean_trials": len(set(mine.trial.tolist())),
            "windows": int((ws.subject == subject).sum()),
            "rejected_share": round(float(ws.rejected[ws.subject == subject].mean()), 4),
        }
        per_subject.append(entry)
        if entry["clean_trials"] < 2:
            entry["skipped"] = (
                f"{entry['clean_trials']} trial(s) with windows that pass the quality check"
            )
            continue
        if on_step is not None:
            on_step(f"subject {s_index + 1}/{len(subjects)} ({subject}): generic model")
        others = clean.subset(np.flatnonzero(clean.subject != subject))
        try:
            generic = fit(others, cfg, where=f"subjects other than {subject}", one_class="skip")
        except ClassifierError as exc:
            entry["skipped"] = f"no generic model: {exc}"
            continue
        p_generic = generic.predict(mine.data)  # centred on this wearer, when it centres
        entry["generic"], entry["curve"] = {}, {}
        for dim in generic.dimensions:
            j = OUTPUTS.index(dim)
            classes = {t: c for t, c in trial_classes(mine).items() if not np.isnan(c[j])}
            scored = _score(p_generic, mine, dim)
            if scored is None:
                continue
            entry["generic"][dim] = {
                "trial_accuracy": round(_trial_accuracy(scored[1]), 4),
                "majority_rate": round(_majority(scored[1]), 4),
                "window_balanced_accuracy": scored[0],
            }
            entry["curve"][dim] = []
            sittings = {s for t, s in zip(mine.trial, mine.sessions, strict=True) if t in classes}
            fewest_per_sitting = min(
                sum(1 for t in classes if (mine.sessions[mine.trial == t][0]) == s)
                for s in sittings
            )
            for n in n_values:
                if n >= len(classes) or (len(sittings - {""}) >= 2 and n > fewest_per_sitting):
                    break
                if on_step is not None:
                    on_step(f"subject {s_index + 1}/{len(subjects)} ({subject}): {dim}, n={n}")
                runs = [
                    _calibrated_run(generic, mine, mine_features, dim, n, classes, rng, cal_cfg)
                    for _ in range(draws)
                ]
                point = _summarise(runs, n)
                entry["curve"][dim].append(point)
                pooled[dim].setdefault(n, []).append({"subject": subject, "runs": runs})
    report = {
        "protocol": "calibration",
        "note": NOTE,
        "data": ws.description,
        "synthetic": bool(ws.synthetic),
        "alignment": cfg.alignment,
        "n_windows": int(len(ws)),
        "rejected_share": round(float(ws.rejected.mean()), 4) if len(ws) else 0.0,
        "kept": kept_shares(ws),
        "sittings": (
            "rated and test trials from different sittings (the labels' session column)"
            if len(set(ws.sessions.tolist()) - {""}) >= 2
            else "no session column: rated and test trials may share a sitting, which flatters "
            "within-person figures (a model can learn the sitting, not the state)"
        ),
        "baseline": "band-power logistic regression fitted on the same rated trials of the "
        "wearer alone (log theta/alpha/beta power per electrode, z-scored per person)",
        "draws": draws,
        "calibration_epochs": calibration_epochs,
        "subjects": per_subject,
        "pooled": {dim: _pool(by_n) for dim, by_n in pooled.items() if by_n},
    }
    if not report["pooled"]:
        reasons = "; ".join(f"{e['subject']}: {e.get('skipped', '?')}" for e in per_subject)
        raise ClassifierError(
            f"no subject could be scored ({reasons[:300]}); record 2+ tracks of each mood per "
            "subject, with the headband snug on dry skin"
        )
    return report


def _calibrated_run(
    generic: TrainedModel,
    mine: WindowSet,
    mine_features: np.ndarray,
    dim: str,
    n: int,
    classes: dict[str, tuple[float, float]],
    rng: np.random.Generator,
    cal_cfg: TrainConfig,
) -> dict[str, Any]:
    """One draw: rate n trials, calibrate, score generic, calibrated and the baseline (fitted
    on the same rated trials) on the rest."""
    from classifier.baseline import BandPowerBaseline

    candidates, tested = rating_pool(mine, classes, rng)
    rated = draw_rated_trials(candidates, dim, n, rng)
    is_rated = np.isin(mine.trial, rated)
    test_rows = np.flatnonzero(~is_rated & np.isin(mine.trial, tested))
    test = mine.subset(test_rows)
    rated_rows = np.flatnonzero(is_rated)
    baseline = BandPowerBaseline().fit(
        mine_features[rated_rows], {dim: mine.labels(dim)[rated_rows]}
    )
    p_band = baseline.predict(mine_features[test_rows])
    b = _score(p_band, test, dim)
    try:
        tuned = calibrate(generic, mine.subset(np.flatnonzero(is_rated)), cal_cfg)
        calibrated_as = "fine-tuned"
    except ClassifierError:  # n trials of one class: nothing to fine-tune on, the generic
        tuned, calibrated_as = generic, "generic (rated trials hold one class)"
    # The generic model centres on the wearer's mean over all their (unrated) windows.
    g = _score(
        generic.predict(test.data, centre=generic.wearer_centre(mine.data)[test_rows]), test, dim
    )
    p_tuned = tuned.predict(test.data, centre=tuned.wearer_centre(mine.data)[test_rows])
    c = _score(p_tuned, test, dim)
    m = _score((p_tuned + p_band) / 2, test, dim)
    assert g is not None and c is not None and b is not None and m is not None
    return {
        "rated": rated,
        "calibrated_as": calibrated_as,
        "generic_pairs": g[1],
        "calibrated_pairs": c[1],
        "baseline_pairs": b[1],
        "combined_pairs": m[1],
        "generic_window_balanced_accuracy": g[0],
        "calibrated_window_balanced_accuracy": c[0],
        "baseline_window_balanced_accuracy": b[0],
    }


def _summarise(runs: Sequence[dict[str, Any]], n: int) -> dict[str, Any]:
    gen = [p for r in runs for p in r["generic_pairs"]]
    cal = [p for r in runs for p in r["calibrated_pairs"]]
    base = [p for r in runs for p in r["baseline_pairs"]]
    comb = [p for r in runs for p in r["combined_pairs"]]
    return {
        "n": n,
        "draws": len(runs),
        "test_trials": len(runs[0]["generic_pairs"]),
        "generic_trial_accuracy": round(_trial_accuracy(gen), 4),
        "calibrated_trial_accuracy": round(_trial_accuracy(cal), 4),
        "baseline_trial_accuracy": round(_trial_accuracy(base), 4),
        "combined_trial_accuracy": round(_trial_accuracy(comb), 4),
        "majority_rate": round(float(np.mean([_majority(r["generic_pairs"]) for r in runs])), 4),
        "generic_window_balanced_accuracy": round(
            float(np.mean([r["generic_window_balanced_accuracy"] for r in runs])), 4
        ),
        "calibrated_window_balanced_accuracy": round(
            float(np.mean([r["calibrated_window_balanced_accuracy"] for r in runs])), 4
        ),
        "baseline_window_balanced_accuracy": round(
            float(np.mean([r["baseline_window_balanced_accuracy"] for r in runs])), 4
        ),
        "fine_tuned_draws": sum(r["calibrated_as"] == "fine-tuned" for r in runs),
    }


def _pool(by_n: dict[int, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per n: every subject's draws pooled, and the worst subject (lowest calibrated)."""
    out = []
    for n in sorted(by_n):
        subjects = by_n[n]
        summary = _summarise([r for s in subjects for r in s["runs"]], n)
        per = {s["subject"]: _summarise(s["runs"], n) for s in subjects}
        worst = min(per, key=lambda name: per[name]["calibrated_trial_accuracy"])
        summary.pop("test_trials")
        summary["runs"] = summary.pop("draws")  # every subject's draws together
        out.append(
            {
                **summary,
                "subjects": len(subjects),
                "worst_subject": worst,
                "worst_calibrated_trial_accuracy": per[worst]["calibrated_trial_accuracy"],
                "worst_generic_trial_accuracy": per[worst]["generic_trial_accuracy"],
                "worst_baseline_trial_accuracy": min(
                    p["baseline_trial_accuracy"] for p in per.values()
                ),
                "worst_combined_trial_accuracy": min(
                    p["combined_trial_accuracy"] for p in per.values()
                ),
            }
        )
    return out


def plot_curve(report: dict[str, Any], path: str | Path) -> Path:
    """The learning curve as a PNG: pooled trial accuracy by n rated trials, per dimension."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dims = list(report["pooled"])
    fig, axes = plt.subplots(1, len(dims), figsize=(5.2 * len(dims), 3.8), squeeze=False)
    for ax, dim in zip(axes[0], dims, strict=True):
        points = report["pooled"][dim]
        n = [p["n"] for p in points]
        ax.plot(n, [p["calibrated_trial_accuracy"] for p in points], "o-", label="calibrated")
        ax.plot(n, [p["generic_trial_accuracy"] for p in points], "s--", label="generic")
        ax.plot(
            n,
            [p.get("baseline_trial_accuracy") for p in points],
            "d-.",
            color="tab:green",
            label="band-power baseline",
        )
        ax.plot(n, [p["majority_rate"] for p in points], ":", color="grey", label="majority")
        ax.plot(
            n,
            [p["worst_calibrated_trial_accuracy"] for p in points],
            "v",
            color="tab:red",
            label="worst subject (calibrated)",
        )
        ax.set_ylim(0, 1.02)
        ax.set_xticks(n)
        ax.set_xlabel("rated trials (tracks) of the new wearer")
        ax.set_ylabel("trial-level accuracy on the other trials")
        ax.set_title(f"{dim}{' (SYNTHETIC)' if report.get('synthetic') else ''}")
        ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(report.get("data", "")[:110], fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
