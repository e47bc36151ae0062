"""`emotune model`: train, evaluate, add, list and choose the EEG emotion model."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import console, err_console, print_json, settings

app = typer.Typer(
    help="Train, evaluate and choose the EEG emotion model (TSCeption).\n\n"
    "Example: emotune model list",
    no_args_is_help=True,
    rich_markup_mode=None,
)

DreamerOpt = Annotated[
    Path | None, typer.Option("--dreamer", help="DREAMER.mat (or a file of its layout).")
]
RecordingsOpt = Annotated[
    Path | None, typer.Option("--recordings", help="Folder of muselsl CSV recordings.")
]
LabelsOpt = Annotated[
    Path | None,
    typer.Option("--labels", help="CSV with columns file,subject,valence,arousal (ratings 1-5)."),
]
RateOpt = Annotated[float, typer.Option("--rate", help="Sampling rate of the recordings, Hz.")]
StrideOpt = Annotated[
    float | None,
    typer.Option(
        "--stride", help="Seconds between window starts (default 1; DREAMER 4: no overlap)."
    ),
]
LineOpt = Annotated[
    float | None, typer.Option("--line-noise", help="Mains frequency to notch, Hz (50 or 60).")
]
EpochsOpt = Annotated[int, typer.Option("--epochs", min=1, help="Most epochs (early stopping).")]
SeedOpt = Annotated[int, typer.Option("--seed", help="Random seed.")]
AccelOpt = Annotated[
    str, typer.Option("--accelerator", help="Lightning accelerator: cpu, gpu, auto, ...")
]
DevicesOpt = Annotated[str, typer.Option("--devices", help="Lightning devices: 1, 2, auto, ...")]
ThreadsOpt = Annotated[int, typer.Option("--threads", min=1, help="torch CPU threads.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
ForceOpt = Annotated[
    bool,
    typer.Option(
        "--force",
        help="Make it active (as --use says) even when its own validation does not show it "
        "learned anything.",
    ),
]
# Exit status when the model was registered but not made active as asked (its validation
# shows it learned nothing): the work is saved, yet not what was asked for.
NOT_ACTIVATED_EXIT = 2
AlignOpt = Annotated[
    str,
    typer.Option(
        "--alignment",
        help="Per-wearer alignment: wearer-zscore (each subject's channels scaled by that "
        "subject's own EEG; the default) or none (raw µV, as models before it).",
    ),
]


def _alignment(kind: str) -> str:
    from classifier.alignment import ALIGNMENTS

    if kind not in ALIGNMENTS:
        from app.errors import ConfigError

        raise ConfigError(f"unknown --alignment {kind!r}; choose one of {', '.join(ALIGNMENTS)}")
    return kind


def _source(
    dreamer: Path | None,
    recordings: Path | None,
    labels: Path | None,
    rate: float,
    stride: float | None,
    line_noise: float | None,
) -> Any:
    from app.jobs.training import DataSource

    source = DataSource(
        dreamer=dreamer,
        recordings=recordings,
        labels=labels,
        rate_hz=rate,
        stride_s=stride,
        line_noise_hz=line_noise if line_noise is not None else settings().line_noise_hz,
    )
    source.validate()
    return source


def _devices(text: str) -> int | str:
    return int(text) if text.isdigit() else text


def train(
    dreamer: DreamerOpt = None,
    recordings: RecordingsOpt = None,
    labels: LabelsOpt = None,
    name: Annotated[str | None, typer.Option("--name", help="Model name.")] = None,
    epochs: EpochsOpt = 30,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-3,
    patience: Annotated[int, typer.Option("--patience", min=1, help="Early-stopping epochs.")] = 5,
    seed: SeedOpt = 0,
    accelerator: AccelOpt = "cpu",
    devices: DevicesOpt = "1",
    threads: ThreadsOpt = 1,
    rate: RateOpt = 256.0,
    stride: StrideOpt = None,
    line_noise: LineOpt = None,
    use: Annotated[
        bool | None,
        typer.Option("--use/--no-use", help="Make it the active model (default: if none is)."),
    ] = None,
    alignment: AlignOpt = "wearer-zscore",
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Train TSCeption on DREAMER or on your own muselsl recordings, save and register it.

    The model is made active (--use, or when none is) only when its balanced accuracy on
    its validation trials is clearly above chance on every dimension; otherwise it is
    registered, one line says why and what data would help, and the exit status is 2
    (--force activates it anyway).

    Example: emotune model train --recordings ~/muse --labels ~/muse/labels.csv
    """
    from app.jobs import training as jobs
    from classifier.training import TrainConfig

    source = _source(dreamer, recordings, labels, rate, stride, line_noise)
    config = TrainConfig(
        max_epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        patience=patience,
        seed=seed,
        accelerator=accelerator,
        devices=_devices(devices),
        threads=threads,
        progress=not as_json,
        alignment=_alignment(alignment),
    )
    out = err_console if as_json else console
    out.print(f"reading {dreamer or recordings} ...")
    result = jobs.train(settings(), source, config, name=name, use=use, force=force)
    if as_json:
        print_json(result)
        _exit_if_refused(result)
        return
    for note in result["notes"]:
        console.print(f"note: {note}")
    state = "active" if result["active"] else "not active (`emotune model use ID`)"
    synthetic = " [SYNTHETIC data]" if result["synthetic"] else ""
    console.print(
        f"model {result['id']} {result['name']}{synthetic}: {result['n_train']} training / "
        f"{result['n_val']} validation windows, {result['epochs']} epochs, "
        f"best validation loss {result['best_val_loss'] or float('nan'):.3f}; {state}\n"
        f"saved to {result['path']}"
    )
    validation = result["validation"]
    for dim in ("valence", "arousal"):
        if dim in validation:
            m = validation[dim]
            console.print(
                f"validation {dim}: accuracy {m['accuracy']:.3f}, balanced "
                f"{m['balanced_accuracy']:.3f}, majority rate {m['majority_rate']:.3f} "
                f"({m['n']} windows; {validation['protocol']}; `model evaluate` holds out people)"
            )
    _print_verdict(result)
    _exit_if_refused(result)


def _print_verdict(result: dict[str, Any]) -> None:
    """One line when the model's own validation does not show it learned."""
    verdict = result.get("verdict")
    if not verdict or verdict["learned"] is not False:
        return
    if verdict["activation_refused"]:
        state = "registered but NOT made active"
        then = f"`emotune model use {result['id']}` or --force activates it anyway"
    elif verdict["forced"]:
        state = "made active only because of --force"
        then = "its tags rest on a model that shows no skill"
    else:
        state = "learned nothing its validation can show"
        then = "keep it inactive"
    console.print(f"model {result['id']} {state}: {verdict['reason']}; {then}", markup=False)


def _exit_if_refused(result: dict[str, Any]) -> None:
    verdict = result.get("verdict")
    if verdict and verdict["activation_refused"]:
        raise typer.Exit(NOT_ACTIVATED_EXIT)


def evaluate(
    protocol: Annotated[
        str,
        typer.Option(
            "--protocol",
            help="loso | trials | groupby-trial (torcheeg's) | calibration (the new-wearer "
            "path: generic model, then n rated trials of each subject).",
        ),
    ] = "loso",
    dreamer: DreamerOpt = None,
    recordings: RecordingsOpt = None,
    labels: LabelsOpt = None,
    folds: Annotated[int, typer.Option("--folds", min=2, help="k for trials/groupby-trial.")] = 5,
    epochs: EpochsOpt = 30,
    batch_size: Annotated[int, typer.Option("--batch-size", min=1)] = 64,
    lr: Annotated[float, typer.Option("--lr", help="Adam learning rate.")] = 1e-3,
    seed: SeedOpt = 0,
    accelerator: AccelOpt = "cpu",
    devices: DevicesOpt = "1",
    threads: ThreadsOpt = 1,
    rate: RateOpt = 256.0,
    stride: StrideOpt = None,
    line_noise: LineOpt = None,
    plot: Annotated[
        Path | None,
        typer.Option(
            "--plot", help="Where to write the PNG (confusion matrix; calibration: learning curve)."
        ),
    ] = None,
    max_rated: Annotated[
        int,
        typer.Option("--max-rated", min=1, help="calibration: n = 1 .. this many rated trials."),
    ] = 4,
    draws: Annotated[
        int, typer.Option("--draws", min=1, help="calibration: random draws of rated trials per n.")
    ] = 3,
    calibration_epochs: Annotated[
        int, typer.Option("--calibration-epochs", min=1, help="calibration: fine-tuning epochs.")
    ] = 8,
    alignment: AlignOpt = "wearer-zscore",
    as_json: JsonOpt = False,
) -> None:
    """Cross-validate TSCeption: per dimension and fold accuracy beside the majority-class rate.

    --protocol calibration measures the new-wearer path: per subject, a generic model
    trained on the others, then fine-tuned on n rated trials of this subject and scored on
    the subject's other trials (trial-level accuracy, one decision per trial as a tag).

    Example: emotune model evaluate --recordings ~/muse --labels ~/muse/l.csv --protocol loso

    Example: emotune model evaluate --recordings ~/muse --labels ~/muse/l.csv
    --protocol calibration --max-rated 3 --json
    """
    from app.jobs import training as jobs
    from classifier.evaluation import PROTOCOLS
    from classifier.training import TrainConfig

    if protocol not in (*PROTOCOLS, "calibration"):
        from app.errors import ConfigError

        raise ConfigError(
            f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}, calibration"
        )
    source = _source(dreamer, recordings, labels, rate, stride, line_noise)
    config = TrainConfig(
        max_epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        seed=seed,
        accelerator=accelerator,
        devices=_devices(devices),
        threads=threads,
        progress=False,
        alignment=_alignment(alignment),
    )
    from rich.progress import Progress

    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task(f"{protocol} folds", total=None)

        def on_fold(i: int, n: int) -> None:
            bar.update(task, total=n, completed=i, description=f"{protocol}: fold {i + 1}/{n}")

        def on_step(text: str) -> None:
            bar.update(task, description=text)

        report = jobs.evaluate(
            settings(), source, config, protocol=protocol, folds=folds, plot_path=plot,
            on_fold=on_fold, max_rated=max_rated, draws=draws,
            calibration_epochs=calibration_epochs, on_step=on_step,
        )  # fmt: skip
    if as_json:
        print_json(report)
        return
    if protocol == "calibration":
        _print_curve(report)
        return
    _print_report(report)


def _print_curve(report: dict[str, Any]) -> None:
    from rich.table import Table

    synthetic = " (SYNTHETIC data)" if report.get("synthetic") else ""
    console.print(f"protocol calibration{synthetic}: {report['note']}")
    console.print(
        f"{report['n_windows']} windows, {report['rejected_share']:.1%} rejected by the quality "
        f"check; alignment {report['alignment']}; {report['draws']} draws per n"
    )
    for entry in report["subjects"]:
        if "skipped" in entry:
            console.print(f"{entry['subject']}: skipped ({entry['skipped']})")
    for dim, points in report["pooled"].items():
        table = Table(
            "rated n", "subjects", "calibrated", "generic", "majority", "worst subject",
            "window bal. acc. cal/gen", title=f"{dim}: trial-level accuracy on the other trials",
        )  # fmt: skip
        for p in points:
            table.add_row(
                str(p["n"]),
                str(p["subjects"]),
                f"{p['calibrated_trial_accuracy']:.1%}",
                f"{p['generic_trial_accuracy']:.1%}",
                f"{p['majority_rate']:.1%}",
                f"{p['worst_subject']} {p['worst_calibrated_trial_accuracy']:.0%}",
                f"{p['calibrated_window_balanced_accuracy']:.1%} / "
                f"{p['generic_window_balanced_accuracy']:.1%}",
            )
        console.print(table)
    console.print(f"learning curve: {report['learning_curve_png']}")


def _print_report(report: dict[str, Any]) -> None:
    from rich.table import Table

    synthetic = " (SYNTHETIC data)" if report.get("synthetic") else ""
    console.print(f"protocol {report['protocol']}{synthetic}: {report['note']}")
    console.print(
        f"{report['n_windows']} windows, {report['rejected_share']:.1%} rejected by the quality "
        "check (neither trained nor tested)"
    )
    for dim in ("valence", "arousal"):
        if dim not in report:
            continue
        r = report[dim]
        table = Table("fold", "held out", "n", "accuracy", "balanced", "macro-F1", "majority")
        for f in r["folds"]:
            held = ", ".join(f["held_out"])
            figures = (f[k] for k in ("accuracy", "balanced_accuracy", "macro_f1", "majority_rate"))
            table.add_row(str(f["fold"]), held[:40], str(f["n"]), *(f"{x:.3f}" for x in figures))
        table.add_row(
            "all", "", str(r["n"]), f"{r['accuracy']:.3f}", f"{r['balanced_accuracy']:.3f}",
            f"{r['macro_f1']:.3f}", f"{r['majority_rate']:.3f}",
        )  # fmt: skip
        console.print(f"{dim}: worst fold accuracy {r['worst_fold_accuracy']:.3f}")
        console.print(table)
    if "confusion_png" in report:
        console.print(f"confusion matrices: {report['confusion_png']}")


def add(
    path: Annotated[
        Path | None, typer.Argument(help="A checkpoint file written by emotune.")
    ] = None,
    demo: Annotated[
        bool, typer.Option("--demo", help="Register the bundled SYNTHETIC demo model.")
    ] = False,
    use: Annotated[bool | None, typer.Option("--use/--no-use", help="Make it active.")] = None,
    force: ForceOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Register an existing checkpoint file (or the bundled synthetic demo model).

    A checkpoint `model train` wrote carries its validation figures and is judged as
    training judges it: one that shows it learned nothing is not made active (exit 2)
    unless --force.

    Example: emotune model add --demo --use
    """
    from app.errors import ConfigError
    from app.jobs import training as jobs
    from classifier.model import DEMO_CHECKPOINT

    if (path is None) == (not demo):
        raise ConfigError("give a checkpoint PATH or --demo")
    result = jobs.add(
        settings(), DEMO_CHECKPOINT if demo else Path(path or ""), use=use, force=force
    )
    if as_json:
        print_json(result)
        _exit_if_refused(result)
        return
    state = "active" if result["active"] else "not active"
    console.print(f"model {result['id']} {result['name']} registered ({state})")
    _print_verdict(result)
    _exit_if_refused(result)


def list_(as_json: JsonOpt = False) -> None:
    """List the registered EEG models; the active one is marked.

    Example: emotune model list --json
    """
    from rich.table import Table

    from app.jobs import training as jobs

    rows = jobs.list_models(settings())
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(
            "no EEG models yet: `emotune model train ...` or `emotune model add --demo --use`"
        )
        return
    table = Table("id", "active", "name", "trained on", "path")
    for r in rows:
        table.add_row(
            str(r["id"]), "*" if r["active"] else "", r["name"], r["description"][:60], r["path"]
        )
    console.print(table)


def use(
    model_id: Annotated[int, typer.Argument(help="Model id from `emotune model list`.")],
) -> None:
    """Make a registered EEG model the active one (the listener uses it).

    Example: emotune model use 2
    """
    from app.jobs import training as jobs

    result = jobs.use_model(settings(), model_id)
    console.print(f"model {result['id']} {result['name']} is now active")


app.command("train")(train)
app.command("evaluate")(evaluate)
app.command("add")(add)
app.command("list")(list_)
app.command("use")(use)


def register(root: typer.Typer) -> None:
    from app.cli import calibrate

    calibrate.register(app)
    root.add_typer(app, name="model")
