"""`emotune model calibrate`: fine-tune the active model on your own self-rated listens."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, open_user_store, print_json, settings


def calibrate(
    activate: Annotated[
        bool, typer.Option("--activate/--no-activate", help="Make the calibrated model active.")
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Keep the calibrated model even if it does not beat the active model and the "
            "majority class on held-out tracks.",
        ),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Fine-tune the active EEG model on your self-rated listens (`emotune listen --rate`,
    `emotune rate`), scored track by track on tracks it never saw.

    Each rated track is held out in turn (k folds by track above 8 tracks). The report gives
    the calibrated model's track accuracy with a 95% interval beside the active model's and
    the majority-class rate. The calibrated model is kept only when it beats both;
    otherwise the active model stays and one line says what to rate next.

    Example: emotune model calibrate --json
    """
    from app.jobs.calibrate import calibrate_active_model

    cfg = settings()
    store = open_user_store(cfg)
    try:
        with console.status("fine-tuning on your rated tracks, track by track", spinner="dots"):
            report = calibrate_active_model(
                store,
                cfg.models_dir,
                activate=activate,
                force=force,
                line_noise_hz=cfg.line_noise_hz,
            )
    finally:
        store.close()
    if as_json:
        print_json(report.__dict__)
        return
    console.print(f"[bold]{report.metrics.get('protocol', '')}[/bold]")
    for dim in ("valence", "arousal"):
        m = report.metrics.get(dim)
        if not m:
            console.print(f"{dim}: not rated on both sides of 3; not calibrated")
            continue
        low, high = m["track_accuracy_95ci"]
        if not m.get("calibrated", True):
            console.print(f"{dim}: rated on one side of 3 only; not calibrated")
            continue
        console.print(
            f"{dim}: calibrated {m['track_accuracy']:.0%} of {m['tracks']} held-out tracks "
            f"(95% interval {low:.0%}-{high:.0%}); active model {m['base_track_accuracy']:.0%}; "
            f"majority class {m['majority_rate']:.0%}; ECE {m['ece']:.2f} "
            f"(active model {m['base_ece']:.2f}); your band-power baseline "
            f"{m['baseline_track_accuracy']:.0%}, both averaged {m['combined_track_accuracy']:.0%}"
        )
    answer = report.metrics.get("answer", "tsception")
    console.print(f"answers with: {ANSWER_WORDS[answer]} (the best on your held-out tracks)")
    for note in report.notes:
        console.print(f"note: {note}")
    if report.model_id is None:
        console.print(
            f"kept {report.base_model}: the calibrated model does not beat it and the majority "
            f"class on held-out tracks; {report.advice} (--force keeps it anyway)"
        )
        return
    verdict = "beats" if report.beats_base_and_majority else "does NOT beat (kept with --force)"
    console.print(
        f"calibrated model {report.model_name} (id {report.model_id}) {verdict} the active model "
        f"and the majority class; refitted on all {report.tracks} tracks"
        f"{'; now active' if report.activated else ''}"
    )


ANSWER_WORDS = {
    "tsception": "TSCeption, fine-tuned",
    "baseline": "your band-power baseline (log theta/alpha/beta power, logistic regression)",
    "combined": "TSCeption and your band-power baseline, averaged",
}


def register(model_app: typer.Typer) -> None:
    model_app.command("calibrate")(calibrate)
