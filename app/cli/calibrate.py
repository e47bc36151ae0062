"""`emotune model calibrate`: fine-tune the active model on your own self-rated listens."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, open_user_store, print_json, settings


def calibrate(
    activate: Annotated[
        bool, typer.Option("--activate/--no-activate", help="Make the calibrated model active.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Fine-tune the active EEG model on your self-rated listens (`emotune listen --rate`).

    Whole tracks are held out to score it: the report gives accuracy on those tracks for
    the calibrated and the base model, beside the majority-class rate.

    Example: emotune model calibrate --json
    """
    from app.jobs.calibrate import calibrate_active_model

    cfg = settings()
    store = open_user_store(cfg)
    try:
        with console.status("fine-tuning on your rated tracks", spinner="dots"):
            report = calibrate_active_model(
                store, cfg.models_dir, activate=activate, line_noise_hz=cfg.line_noise_hz
            )
    finally:
        store.close()
    if as_json:
        print_json(report.__dict__)
        return
    console.print(
        f"calibrated model {report.model_name} (id {report.model_id}) from {report.tracks} "
        f"tracks, {report.windows} windows{'; now active' if report.activated else ''}"
    )
    console.print(f"held-out tracks: {', '.join(report.held_out_tracks)}")
    for dim in ("valence", "arousal"):
        m = report.metrics.get(dim)
        if m:
            console.print(
                f"{dim}: accuracy {m['accuracy']:.1%} (base model {m['base_accuracy']:.1%}, "
                f"majority class {m['majority_rate']:.1%}) on {m['n_windows']} held-out windows"
            )
        else:
            console.print(f"{dim}: no held-out ratings to score")


def register(model_app: typer.Typer) -> None:
    model_app.command("calibrate")(calibrate)
