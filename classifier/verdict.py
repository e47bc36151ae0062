"""Did a trained model learn anything? Its own validation figures, judged against chance.

`model train` scores the new model on validation windows it did not train on. A balanced
accuracy of 0.56 on them may be luck, depending on how much was held out, so the verdict
asks how far a model answering at random could get on the same split.

The unit of that question is the trial, not the window. Windows are 4 s long and start
every 1-2 s, so neighbours share most of their samples, and every window of one trial
shares its sitting: electrode contact, the wearer's state, the room. A model that picks up
the contact of a trial answers the same for all of its windows, so a trial counts once.
The chance model is therefore one random answer per held-out trial (right or wrong with
probability 1/2, the same for all of its windows): its balanced accuracy on n_low and
n_high held-out trials is (K_low / n_low + K_high / n_high) / 2 with K ~ Binomial(n, 1/2).
A dimension counts as learned only when the model's balanced accuracy is above the value
that chance model reaches or passes 5 times in 100 (`chance_bound`): on 3 + 3 trials that
is 0.83; on 1 + 1 or 2 + 2 trials even a perfect score is not enough. The bound is
conservative where windows of one trial vary independently; it never flatters.

A dimension whose validation windows hold one class cannot be judged at all (balanced
accuracy is then the recall of that one class): the verdict says which class is short.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

# Label 0 is a rating of 1-3 ("low"), label 1 a rating of 4-5 ("high"): rating > 3.
CLASS_NAMES = ("low", "high")
CLASS_RATINGS = {"low": "1-3", "high": "4-5"}
# The chance model reaches the bound or more at most this often.
CHANCE_LEVEL = 0.05

ABOVE_CHANCE = "above chance"
NOT_ABOVE_CHANCE = "not above chance"
TOO_FEW_TRIALS = "too few trials"
ONE_CLASS = "one class"
NO_VALIDATION = "no validation"
NOT_JUDGED = "not judged"  # figures from before this check: no trial counts to size it
FAILING = (NOT_ABOVE_CHANCE, TOO_FEW_TRIALS, ONE_CLASS, NO_VALIDATION)


@lru_cache(maxsize=256)
def _chance_tail(n_low: int, n_high: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(values, P(chance balanced accuracy >= value)) over every value it can take."""
    from scipy.stats import binom

    p_low = binom.pmf(np.arange(n_low + 1), n_low, 0.5)
    p_high = binom.pmf(np.arange(n_high + 1), n_high, 0.5)
    values = (np.arange(n_low + 1)[:, None] / n_low + np.arange(n_high + 1)[None, :] / n_high) / 2
    probs = p_low[:, None] * p_high[None, :]
    keys = np.round(values.ravel(), 9)
    order = np.argsort(keys)
    unique, first = np.unique(keys[order], return_index=True)
    mass = np.add.reduceat(probs.ravel()[order], first)
    tail = np.cumsum(mass[::-1])[::-1]
    return tuple(unique.tolist()), tuple(np.minimum(tail, 1.0).tolist())


def chance_p(balanced_accuracy: float, n_low: int, n_high: int) -> float:
    """How often one random answer per trial scores `balanced_accuracy` or more."""
    values, tail = _chance_tail(n_low, n_high)
    for value, p in zip(values, tail, strict=True):
        if value >= balanced_accuracy - 1e-9:
            return p
    return 0.0


def chance_bound(n_low: int, n_high: int, level: float = CHANCE_LEVEL) -> float:
    """The highest balanced accuracy that one random answer per trial reaches or passes
    more often than `level` on n_low + n_high held-out trials (1.0: nothing can beat it)."""
    values, tail = _chance_tail(n_low, n_high)
    return max(v for v, p in zip(values, tail, strict=True) if p > level)


def _counts(figures: dict[str, Any], key: str) -> dict[str, int] | None:
    found = figures.get(key)
    if not isinstance(found, dict):
        return None
    try:
        counts = {name: int(found.get(name, 0)) for name in CLASS_NAMES}
    except (TypeError, ValueError):
        return None
    return counts if min(counts.values()) >= 0 else None


def _kept(figures: dict[str, Any]) -> str:
    kept = _counts(figures, "kept_windows")
    trials = _counts(figures, "kept_trials")
    if kept is None or trials is None:
        return ""
    return (
        f"windows kept after the quality check: {kept['low']} low ({trials['low']} trials) / "
        f"{kept['high']} high ({trials['high']} trials)"
    )


def short_class(figures: dict[str, Any]) -> str | None:
    """The class with under half the other's kept trials or windows, if one is."""
    kept = _counts(figures, "kept_windows")
    trials = _counts(figures, "kept_trials")
    if kept is None or trials is None:
        return None
    for name, other in (("low", "high"), ("high", "low")):
        if trials[name] < trials[other] / 2 or kept[name] < kept[other] / 2:
            return name
    return None


def _more_data(dim: str, figures: dict[str, Any], held: dict[str, int]) -> str:
    """What data would help: the short class, else more trials of both."""
    short = short_class(figures)
    if short is not None:
        return f"record more trials with {dim} rated {CLASS_RATINGS[short]} ({short} is short)"
    if chance_bound(held["low"], held["high"]) >= 1.0 - 1e-9:
        return (
            f"record more trials of both {dim} classes: 3 of each held out are the fewest that "
            "can show anything (validation holds about a fifth of the trials from 10 on)"
        )
    more = max(10, 2 * max(held.values()))
    return (
        f"more trials of both {dim} classes lower that bar ({chance_bound(more, more):.2f} with "
        f"{more} of each held out; validation holds about a fifth of the trials)"
    )


def _number(figures: dict[str, Any], key: str) -> float:
    try:
        return float(figures[key])
    except (TypeError, ValueError, KeyError):
        return float("nan")


def judge_dimension(dim: str, figures: dict[str, Any] | None) -> dict[str, Any]:
    """The verdict on one dimension's validation figures (training.validation_figures).

    Returns {"status", "reason"} plus the figures it rests on: balanced_accuracy,
    validation_trials and chance_bound_95 (the bound above) where known.
    """
    if not figures:
        return {
            "status": NO_VALIDATION,
            "reason": f"{dim}: no validation windows, so nothing shows it learned {dim}; "
            "record more (or longer) trials",
        }
    ba = _number(figures, "balanced_accuracy")
    if not 0.0 <= ba <= 1.0:  # a checkpoint's figures that cannot be read (or NaN)
        return {"status": NOT_JUDGED, "reason": ""}
    out: dict[str, Any] = {"balanced_accuracy": ba}
    held = _counts(figures, "validation_trials")
    windows = _counts(figures, "validation_windows")
    kept = _kept(figures)
    if held is None or windows is None:
        # Figures from before trial counts were kept: one class and chance-or-worse are
        # plain; anything else cannot be sized.
        if _number(figures, "majority_rate") >= 1.0:
            return {
                **out,
                "status": ONE_CLASS,
                "reason": f"{dim}: validation held one class only, so nothing shows it learned",
            }
        if ba <= 0.5:
            return {
                **out,
                "status": NOT_ABOVE_CHANCE,
                "reason": f"{dim}: balanced accuracy {ba:.2f} on validation is chance or worse",
            }
        return {**out, "status": NOT_JUDGED, "reason": ""}
    out["validation_trials"] = held
    if min(held.values()) == 0:
        present = "low" if held["low"] else "high"
        missing = "high" if present == "low" else "low"
        return {
            **out,
            "status": ONE_CLASS,
            "reason": f"{dim}: validation holds {present} windows only ({windows[present]} from "
            f"{held[present]} trials), so nothing shows it learned to tell {missing} apart; "
            f"{kept}; record more trials with {dim} rated {CLASS_RATINGS[missing]}",
        }
    bound = chance_bound(held["low"], held["high"])
    out["chance_bound_95"] = round(bound, 4)
    trials = f"{held['low']} low / {held['high']} high held-out trials"
    if ba > bound + 1e-9:
        return {**out, "status": ABOVE_CHANCE, "reason": ""}
    if bound >= 1.0 - 1e-9:
        perfect = chance_p(1.0, held["low"], held["high"])
        return {
            **out,
            "status": TOO_FEW_TRIALS,
            "reason": f"{dim}: balanced accuracy {ba:.2f} on {trials} cannot show anything "
            f"(one random answer per trial scores perfectly {perfect:.0%} of the time); "
            f"{kept}; {_more_data(dim, figures, held)}",
        }
    return {
        **out,
        "status": NOT_ABOVE_CHANCE,
        "reason": f"{dim}: balanced accuracy {ba:.2f} on {trials} is not clearly above chance "
        f"(one random answer per trial reaches {bound:.2f} 1 time in 20); {kept}; "
        f"{_more_data(dim, figures, held)}",
    }


def judge_validation(validation: dict[str, Any], dimensions: list[str]) -> dict[str, Any]:
    """The verdict on a model's validation figures over the dimensions it was trained on.

    {"learned": True when every dimension is clearly above chance, False when one is not
    (or holds one class, or has no validation windows), None when figures from an older
    emotune cannot be sized; "reason": one line on each dimension that failed and what data
    would help ("" when none did); "dimensions": {dim: judge_dimension(...)}}.
    """
    if not isinstance(validation, dict):
        validation = {}
    per_dim = {
        dim: judge_dimension(dim, found if isinstance(found := validation.get(dim), dict) else None)
        for dim in dimensions
    }
    failed = [v["reason"] for v in per_dim.values() if v["status"] in FAILING]
    learned: bool | None = False
    if not failed:
        judged = all(v["status"] == ABOVE_CHANCE for v in per_dim.values())
        learned = True if judged and per_dim else None
    return {"learned": learned, "reason": "; ".join(failed), "dimensions": per_dim}
