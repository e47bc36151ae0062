"""`emotune voice ...`: train, evaluate, enrol and check in with the voice mood model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from app.cli.common import console, err_console, print_json, settings
from app.errors import ModelError

app = typer.Typer(
    help="Read your mood from a short speech recording (RAVDESS-trained model).\n\n"
    "Example: emotune voice check-in me.wav",
    no_args_is_help=True,
)

MODEL_HELP = "svc, rf, xgboost, or auto (search all three, keep the best by actor-grouped CV)."
RavdessOption = Annotated[
    Path,
    typer.Option(
        "--ravdess",
        help="Folder of RAVDESS-named .wav/.flac clips (Actor_XX/ folders or flat): "
        "your copy of RAVDESS.",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


@contextmanager
def _progress(label: str, quiet: bool) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar (on stderr when stdout carries JSON) fed by (done, total) calls."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console if quiet else console,
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def _log(quiet: bool) -> Callable[[str], None]:
    out = err_console if quiet else console
    return lambda line: out.print(line)


def _actors(text: str | None) -> list[int] | None:
    if text is None:
        return None
    from classifier.voice.dataset import parse_actor_list

    return parse_actor_list(text)


@app.command("train")
def train(
    ravdess: RavdessOption,
    test_actors: Annotated[
        str | None,
        typer.Option(help="Actors to hold out and score, e.g. 21-24 (trained on the others)."),
    ] = None,
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "svc",
    features: Annotated[
        str, typer.Option(help="extended (default) or reference (the published recipe).")
    ] = "extended",
    normalise: Annotated[
        str, typer.Option(help="speaker (per-speaker statistics; default) or none.")
    ] = "speaker",
    n_iter: Annotated[int, typer.Option(help="Randomized-search points per model.")] = 8,
    as_json: JsonOption = False,
) -> None:
    """Train the voice model on a RAVDESS-named folder (speech only), save it and make it active.

    The hyper-parameter search uses training actors only, cross-validated by actor.

    Example: emotune voice train --ravdess ~/data/ravdess --model auto --json
    """
    from app.jobs.voice import train_voice

    with _progress("voice features", as_json) as progress:
        outcome = train_voice(
            settings(),
            ravdess,
            test_actors=_actors(test_actors),
            kind=model,
            feature_set=features,
            normalisation=normalise,
            n_iter=n_iter,
            progress=progress,
            log=_log(as_json),
        )
    s = outcome.summary
    if as_json:
        print_json(s)
        return
    from app.jobs.voice import normalisation_text

    console.print(
        f"voice model {s['model_id']} ({s['model']}, {s['feature_set']} features, "
        f"{normalisation_text(s['normalisation'])}) saved to {s['path']} and active"
    )
    console.print(
        f"cross-validated on training actors {_fmt(s['train_actors'])}: {s['cv_accuracy']:.1%} "
        f"({s['cv_protocol']}; majority class {s['cv_majority_rate']:.1%})"
    )
    if s["held_out"]:
        h = s["held_out"]
        console.print(
            f"held-out actors {_fmt(h['test_actors'])}: accuracy {h['accuracy']:.1%}, "
            f"macro F1 {h['macro_f1']:.2f}, majority class {h['majority_rate']:.1%}; "
            f"confusion matrix: {h['confusion_png']}"
        )
    for line in s["skipped_files"]:
        console.print(f"skipped {line}")


@app.command("evaluate")
def evaluate(
    ravdess: RavdessOption,
    test_actors: Annotated[
        str | None, typer.Option(help="Actors to hold out, e.g. 17-20; trains on the others.")
    ] = None,
    folds: Annotated[
        int | None,
        typer.Option(help="Instead of --test-actors: leave-actors-out CV with this many folds."),
    ] = None,
    model: Annotated[str, typer.Option(help=MODEL_HELP)] = "svc",
    features: Annotated[str, typer.Option(help="extended (default) or reference.")] = "extended",
    normalise: Annotated[str, typer.Option(help="speaker (default) or none.")] = "speaker",
    enrol_clips: Annotated[
        int,
        typer.Option(help="Clips of each held-out actor that stand in for their enrolment."),
    ] = 20,
    n_iter: Annotated[int, typer.Option(help="Randomized-search points per model.")] = 8,
    confusion: Annotated[
        Path | None, typer.Option(help="Where to write the confusion-matrix PNG.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Train on the other actors and score held-out ones; nothing is saved to the store.

    Example: emotune voice evaluate --ravdess ~/data/ravdess --test-actors 17-20 --json
    """
    from app.jobs.voice import evaluate_voice

    with _progress("voice features", as_json) as progress:
        result = evaluate_voice(
            settings(),
            ravdess,
            test_actors=_actors(test_actors),
            folds=folds,
            kind=model,
            feature_set=features,
            normalisation=normalise,
            enrol_clips=enrol_clips,
            n_iter=n_iter,
            confusion_png=confusion,
            progress=progress,
            log=_log(as_json),
        )
    if as_json:
        print_json(result)
        return
    if "folds" in result:
        console.print(
            f"{result['model']} / {result['feature_set']}: accuracy {result['accuracy_mean']:.1%}"
            f" ± {result['accuracy_std']:.1%} (worst fold {result['accuracy_worst']:.1%}); "
            f"majority class {result['majority_rate_mean']:.1%}. {result['protocol']}"
        )
        return
    console.print(
        f"{result['model']} / {result['feature_set']}: accuracy {result['accuracy']:.1%}, "
        f"macro F1 {result['macro_f1']:.2f}, majority class {result['majority_rate']:.1%}. "
        f"{result['protocol']}"
    )
    for name, row in result["per_class"].items():
        console.print(
            f"  {name:<10} recall {row['recall']:.0%}  precision {row['precision']:.0%}  "
            f"n={row['support']}"
        )
    console.print(f"confusion matrix: {result['confusion_png']}")


@app.command("enrol")
def enrol(
    files: Annotated[
        list[Path] | None, typer.Argument(help="WAV/FLAC clips of you speaking, any sentences.")
    ] = None,
    mic: Annotated[
        bool, typer.Option("--mic", help="Record one clip from the microphone.")
    ] = False,
    seconds: Annotated[float, typer.Option(help="Seconds to record with --mic.")] = 4.0,
    reset: Annotated[bool, typer.Option(help="Forget earlier enrolment clips first.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Enrol unlabelled clips of your voice; their statistics normalise your check-ins.

    Say different sentences in varied moods; about 20 clips keep most of the gain.

    Example: emotune voice enrol clips/*.wav
    """
    from app.jobs.voice import enrol_voice

    cfg = settings()
    paths = list(files or [])
    if mic:
        paths.append(_record(cfg, seconds, "enrol"))
    if not paths:
        raise ModelError("no clips given; pass WAV/FLAC files of your speech or use --mic")
    result = enrol_voice(cfg, paths, reset=reset)
    if as_json:
        print_json(result.__dict__)
        return
    for line in result.skipped:
        console.print(f"skipped: {line}")
    console.print(f"added {len(result.added)} clip(s). {result.advice}")


@app.command("check-in")
def check_in(
    file: Annotated[Path | None, typer.Argument(help="A WAV/FLAC clip of you speaking.")] = None,
    mic: Annotated[bool, typer.Option("--mic", help="Record from the microphone instead.")] = False,
    seconds: Annotated[float, typer.Option(help="Seconds to record with --mic.")] = 4.0,
    as_json: JsonOption = False,
) -> None:
    """Read your mood from one clip: emotion, probabilities and its quadrant (stored as a reading).

    Example: emotune voice check-in me.wav --json
    """
    from app.jobs.voice import check_in as run_check_in

    cfg = settings()
    if mic:
        file = _record(cfg, seconds, "check-in")
    if file is None:
        raise ModelError("no clip given; pass a WAV/FLAC file of your speech or use --mic")
    result = run_check_in(cfg, file)
    if as_json:
        print_json(result.as_dict())
        return
    console.print(
        f"{result.quadrant} (voice sounds {result.emotion}; valence {result.p_valence:.2f}, "
        f"arousal {result.p_arousal:.2f}, confidence {result.confidence:.2f})"
    )
    ranked = sorted(result.probabilities.items(), key=lambda kv: -kv[1])
    console.print("  " + "  ".join(f"{name} {p:.0%}" for name, p in ranked))
    for note in result.notes:
        console.print(f"note: {note}")


def _record(cfg: Any, seconds: float, what: str) -> Path:
    import time

    from classifier.voice.mic import record_wav

    if not 0.5 <= seconds <= 60:
        raise ModelError(f"--seconds {seconds:g} is out of range; use 0.5 to 60")
    target = cfg.recordings_dir / "voice" / f"{what}-{time.strftime('%Y%m%d-%H%M%S')}.wav"
    # on stderr once the device is open: stdout may carry --json
    return record_wav(
        target, seconds, on_start=lambda: err_console.print(f"recording {seconds:g} s ...")
    )


def _fmt(actors: list[int]) -> str:
    return ",".join(f"{a:02d}" for a in actors)


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="voice")
