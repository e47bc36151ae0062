"""Honest evaluation: who was held out, and the majority-class rate of the same split.

Protocols (each window is tested exactly once):
- loso: leave one subject out - what a new wearer can expect;
- trials: k-fold over whole trials/files (grouped, so no trial is on both sides);
- groupby-trial: torcheeg's KFoldGroupbyTrial (k-fold *within* every trial: each trial is
  cut into k consecutive slices and fold i tests slice i of every trial). It mixes every
  trial and subject into train and test, so its figures are optimistic; it is here only
  for comparison with published numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from classifier.datasets import WindowSet
from classifier.errors import ClassifierError
from classifier.model import OUTPUTS

PROTOCOLS = ("loso", "trials", "groupby-trial")
PROTOCOL_NOTES = {
    "loso": "leave-one-subject-out: each fold tests a subject the model never saw",
    "trials": "k-fold over whole trials/files: no trial is on both sides",
    "groupby-trial": "torcheeg KFoldGroupbyTrial's rule: every trial is cut into k "
    "consecutive slices and fold i tests slice i of every trial, training on the rest, so "
    "each subject and trial is mixed into both sides; optimistic, for comparison with published "
    "figures only",
}


def binary_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """accuracy, balanced accuracy, macro-F1 and majority_rate for binary labels ([N] 0/1).

    majority_rate is the share of the most common class in y_true: the accuracy of always
    answering that class on this very split (a trivial classifier cannot beat it).
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

    y_true = np.asarray(y_true).astype(int)
    y_pred = np.asarray(y_pred).astype(int)
    share = float(y_true.mean()) if len(y_true) else 0.0
    return {
        "accuracy": round(float(accuracy_score(y_true, y_pred)), 4),
        "balanced_accuracy": round(float(_balanced(balanced_accuracy_score, y_true, y_pred)), 4),
        "macro_f1": round(
            float(f1_score(y_true, y_pred, average="macro", labels=[0, 1], zero_division=0)), 4
        ),
        "majority_rate": round(max(share, 1.0 - share), 4),
        "n": int(len(y_true)),
    }


def expected_calibration_error(y_true: np.ndarray, p_high: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error of binary probabilities ([N] labels 0/1, [N] p(high)).

    The confidence of a prediction is max(p, 1 - p); windows are binned by confidence into
    `bins` equal bins from 0.5 to 1, and the ECE is the window-weighted mean gap between
    each bin's accuracy and its mean confidence (0 = confidence means what it says).
    """
    y = np.asarray(y_true).astype(int)
    p = np.asarray(p_high, dtype=np.float64)
    if len(y) == 0:
        return 0.0
    confidence = np.maximum(p, 1.0 - p)
    correct = (p > 0.5).astype(int) == y
    edges = np.linspace(0.5, 1.0, bins + 1)
    which = np.clip(np.digitize(confidence, edges[1:-1]), 0, bins - 1)
    gap = 0.0
    for b in range(bins):
        members = which == b
        if members.any():
            gap += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return round(float(gap), 4)


def _balanced(fn: Callable[..., float], y_true: np.ndarray, y_pred: np.ndarray) -> float:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # one class in y_true: sklearn warns, value is defined
        return fn(y_true, y_pred)


def protocol_folds(
    ws: WindowSet, protocol: str, *, k: int = 5, seed: int = 0
) -> list[tuple[np.ndarray, np.ndarray, list[str]]]:
    """(train indices, test indices, held-out names) per fold for a protocol."""
    idx = np.arange(len(ws))
    if protocol == "loso":
        subjects = sorted(set(ws.subject.tolist()))
        if len(subjects) < 2:
            raise ClassifierError(
                f"leave-one-subject-out needs 2+ subjects, the data has {len(subjects)} "
                f"({', '.join(subjects)}); use --protocol trials"
            )
        return [(idx[ws.subject != s], idx[ws.subject == s], [s]) for s in subjects]
    if protocol == "trials":
        trials = np.array(sorted(set(ws.trial.tolist())), dtype=object)
        if len(trials) < 2:
            raise ClassifierError("trial-held-out evaluation needs 2+ trials/files")
        order = np.random.default_rng(seed).permutation(len(trials))
        folds = []
        for part in np.array_split(order, min(k, len(trials))):
            held = set(trials[part].tolist())
            is_test = np.array([t in held for t in ws.trial])
            folds.append((idx[~is_test], idx[is_test], sorted(held)))
        return folds
    if protocol == "groupby-trial":
        # The rule of torcheeg.model_selection.KFoldGroupbyTrial (sklearn KFold, no shuffle,
        # inside every trial), applied to the in-memory windows.
        from sklearn.model_selection import KFold

        train_parts: list[list[np.ndarray]] = [[] for _ in range(k)]
        test_parts: list[list[np.ndarray]] = [[] for _ in range(k)]
        for trial in sorted(set(ws.trial.tolist())):
            members = idx[ws.trial == trial]
            members = members[np.argsort(ws.position[members], kind="stable")]
            if len(members) < k:
                for f in range(k):
                    train_parts[f].append(members)
                continue
            for f, (tr, te) in enumerate(KFold(n_splits=k, shuffle=False).split(members)):
                train_parts[f].append(members[tr])
                test_parts[f].append(members[te])
        return [
            (np.concatenate(tr), np.concatenate(te), [f"part {f + 1}/{k} of every trial"])
            for f, (tr, te) in enumerate(zip(train_parts, test_parts, strict=True))
            if te
        ]
    raise ClassifierError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")


def evaluate(
    ws: WindowSet,
    protocol: str,
    config: Any = None,
    *,
    k: int = 5,
    plot_path: str | Path | None = None,
    on_fold: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Train and test TSCeption fold by fold; the JSON-ready report.

    Returns {"protocol", "note", "n_windows", "rejected_share", "kept": kept_shares(ws),
    "valence": {accuracy, balanced_accuracy, macro_f1, majority_rate, mean_fold_accuracy,
    worst_fold_accuracy, trial_accuracy, trial_majority_rate, trials, folds: [...],
    "baseline": the same figures for the band-power baseline on the same folds and windows},
    "arousal": {...}} with pooled figures over every tested window (trial-level: one
    decision per trial, as a track's tag); a dimension without ratings is omitted.
    Rejected windows are neither trained nor tested.
    """
    from classifier.baseline import BandPowerBaseline, person_features
    from classifier.calibration import track_decisions
    from classifier.training import TrainConfig, fit

    cfg = config or TrainConfig(progress=False)
    if protocol not in PROTOCOLS:
        raise ClassifierError(
            f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}"
        )
    rejected_share = float(ws.rejected.mean()) if len(ws) else 0.0
    # Each subject is aligned with its own (unlabelled) windows before any split.
    clean = ws.aligned(cfg.alignment)
    clean = clean.subset(np.flatnonzero(~clean.rejected))
    if len(clean) == 0:
        raise ClassifierError("every window failed the quality check; nothing to evaluate")
    folds = protocol_folds(clean, protocol, k=k, seed=cfg.seed)
    features = person_features(clean.data, clean.subject, clean.ok)
    electrodes = clean.ok.mean(axis=1)
    per_dim: dict[str, dict[str, list[Any]]] = {
        d: {"true": [], "pred": [], "prob": [], "folds": [], "trials": [], "base": []}
        for d in OUTPUTS
    }
    skipped: list[dict[str, Any]] = []
    for f, (train_idx, test_idx, held) in enumerate(folds):
        if on_fold is not None:
            on_fold(f, len(folds))
        train = clean.subset(train_idx)
        try:
            # A dimension with one class in this fold's training data is left out of the
            # fold; a fold with nothing to learn is reported, not fatal to the evaluation.
            trained = fit(
                train, cfg, where=f"fold {f + 1} ({', '.join(held)} held out)", one_class="skip"
            )
        except ClassifierError as exc:
            skipped.append({"fold": f + 1, "held_out": held, "skipped": str(exc)})
            continue
        # A model that centres logits does so per held-out wearer, over all of their
        # windows (no rating used), as it would live over a session.
        probs = trained.predict(clean.data[test_idx], groups=clean.subject[test_idx])
        baseline = BandPowerBaseline().fit(
            features[train_idx], {d: train.labels(d) for d in trained.dimensions}
        )
        base_probs = baseline.predict(features[test_idx])
        test_trials = clean.trial[test_idx]
        decisions = track_decisions(probs, test_trials, electrodes[test_idx])
        base_decisions = track_decisions(base_probs, test_trials, electrodes[test_idx])
        for d, dim in enumerate(OUTPUTS):
            y = clean.labels(dim)[test_idx]
            rated = ~np.isnan(y)
            if not rated.any() or dim not in trained.dimensions:
                continue
            pred = (probs[rated, d] > 0.5).astype(int)
            per_dim[dim]["true"].append(y[rated].astype(int))
            per_dim[dim]["pred"].append(pred)
            per_dim[dim]["prob"].append(probs[rated, d])
            per_dim[dim]["base"].append((base_probs[rated, d] > 0.5).astype(int))
            truth = {t: int(y[test_trials == t][0]) for t in np.unique(test_trials[rated])}
            per_dim[dim]["trials"].extend(
                (truth[t], int(decisions[t][d] > 0.5), int(base_decisions[t][d] > 0.5))
                for t in sorted(truth)
            )
            per_dim[dim]["folds"].append(
                {"fold": f + 1, "held_out": held, **binary_metrics(y[rated], pred)}
            )
    if len(skipped) == len(folds):
        raise ClassifierError(
            f"no fold could be trained: {skipped[0]['skipped']}"
            if skipped
            else "nothing to evaluate"
        )
    report: dict[str, Any] = {
        "protocol": protocol,
        "note": PROTOCOL_NOTES[protocol],
        "n_windows": int(len(ws)),
        "rejected_share": round(rejected_share, 4),
        "kept": kept_shares(ws),
        "baseline": BASELINE_NOTE,
        "synthetic": bool(ws.synthetic),
        "data": ws.description,
        "alignment": cfg.alignment,
        "skipped_folds": skipped,
    }
    confusion = {}
    for dim in OUTPUTS:
        parts = per_dim[dim]
        if not parts["folds"]:
            continue
        y_true, y_pred = np.concatenate(parts["true"]), np.concatenate(parts["pred"])
        fold_acc = [fold["accuracy"] for fold in parts["folds"]]
        report[dim] = {
            **binary_metrics(y_true, y_pred),
            "ece": expected_calibration_error(y_true, np.concatenate(parts["prob"])),
            "mean_fold_accuracy": round(float(np.mean(fold_acc)), 4),
            "worst_fold_accuracy": round(float(np.min(fold_acc)), 4),
            **trial_figures([(t, p) for t, p, _ in parts["trials"]]),
            "folds": parts["folds"],
            "baseline": {
                **binary_metrics(y_true, np.concatenate(parts["base"])),
                **trial_figures([(t, b) for t, _, b in parts["trials"]]),
            },
        }
        confusion[dim] = _confusion(y_true, y_pred)
        report[dim]["confusion"] = confusion[dim].tolist()  # rows true low/high, cols predicted
        confusion[f"{dim}, baseline"] = _confusion(y_true, np.concatenate(parts["base"]))
    if plot_path is not None and confusion:
        report["confusion_png"] = str(plot_confusion(confusion, plot_path, title=f"{protocol}"))
    return report


BASELINE_NOTE = (
    "band-power logistic regression (log theta/alpha/beta power per electrode, z-scored per "
    "person, masked electrodes at the person's mean) on the same folds and windows"
)


def trial_figures(pairs: list[tuple[int, int]]) -> dict[str, Any]:
    """Trial-level figures from (truth, decision) per trial: accuracy and majority rate."""
    if not pairs:
        return {"trial_accuracy": None, "trial_majority_rate": None, "trials": 0}
    truth = np.array([t for t, _ in pairs])
    share = float(truth.mean())
    return {
        "trial_accuracy": round(float(np.mean([t == p for t, p in pairs])), 4),
        "trial_majority_rate": round(max(share, 1.0 - share), 4),
        "trials": len(pairs),
    }


def kept_shares(ws: WindowSet) -> dict[str, Any]:
    """The share of windows the quality check kept, per class of each rated dimension and
    per subject and class: rejection that follows the label would show here.

    {"overall": share, "by_class": {dim: {"low": share, "high": share}},
     "by_subject": {subject: {"windows", "kept", dim: {"low": share, "high": share}}}}
    (a class with no windows is left out).
    """

    def by_class(rows: np.ndarray) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for dim in OUTPUTS:
            y = ws.labels(dim)
            shares = {
                name: round(float(1.0 - ws.rejected[rows & (y == value)].mean()), 4)
                for name, value in (("low", 0.0), ("high", 1.0))
                if (rows & (y == value)).any()
            }
            if shares:
                out[dim] = shares
        return out

    everyone = np.ones(len(ws), dtype=bool)
    subjects = {}
    for subject in sorted(set(ws.subject.tolist())):
        rows = ws.subject == subject
        subjects[subject] = {
            "windows": int(rows.sum()),
            "kept": round(float(1.0 - ws.rejected[rows].mean()), 4),
            **by_class(rows),
        }
    return {
        "overall": round(float(1.0 - ws.rejected.mean()), 4) if len(ws) else 0.0,
        "by_class": by_class(everyone),
        "by_subject": subjects,
    }


def _confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    m = np.zeros((2, 2), dtype=int)
    for t, p in zip(y_true, y_pred, strict=True):
        m[int(t), int(p)] += 1
    return m


def plot_confusion(confusion: dict[str, np.ndarray], path: str | Path, *, title: str = "") -> Path:
    """One PNG with a 2x2 confusion matrix per dimension (rows true, columns predicted)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, len(confusion), figsize=(4 * len(confusion), 3.6), squeeze=False)
    for ax, (dim, m) in zip(axes[0], confusion.items(), strict=True):
        ax.imshow(m, cmap="Blues")
        for (i, j), value in np.ndenumerate(m):
            ax.text(j, i, str(value), ha="center", va="center")
        ax.set_xticks([0, 1], ["low", "high"])
        ax.set_yticks([0, 1], ["low", "high"])
        ax.set_xlabel("predicted")
        ax.set_ylabel("rated")
        ax.set_title(f"{dim} ({title})")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
