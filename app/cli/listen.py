"""`emotune listen`, `replay`, `simulate muse`, `reclassify`, `import-recording`."""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path
from typing import Annotated, Any

import click
import typer

from app.cli.common import console, err_console, open_user_store, print_json, settings

# --- listen ---------------------------------------------------------------------------


def _active_predictor(store: Any, threads: int = 1) -> tuple[Any, int, str]:
    from app.db import repository
    from classifier.pipeline import Predictor, set_torch_threads

    set_torch_threads(threads)
    with store.session() as db:
        model = repository.require_active_eeg_model(db)
        model_id, path, name = model.id, model.path, model.name
    return Predictor.load(path), model_id, name


class OptionalRating(click.ParamType):
    """A whole number 1-5 typed at the rating question, or nothing (not rated: None)."""

    name = "rating"

    def convert(self, value: Any, param: Any, ctx: Any) -> int | None:
        text = str(value).strip()
        if text == "":
            return None
        if text.isdigit() and 1 <= int(text) <= 5:
            return int(text)
        self.fail(f"{text!r}: give 1-5, or press Enter to leave it blank", param, ctx)


def _ask_rating(info: dict[str, Any]) -> tuple[int | None, int | None] | None:
    """(valence, arousal) 1-5 from the terminal; Enter leaves one unrated (None), both
    unrated or Ctrl-D skips the track (None)."""
    err_console.print(
        f"[bold]How did “{info['track']}” make you feel?[/] "
        "(1 low … 5 high; Enter leaves one blank; Ctrl-D skips)"
    )
    answers = []
    try:
        for question in ("valence (unpleasant 1 … 5 pleasant)", "arousal (calm 1 … 5 excited)"):
            answers.append(
                click.prompt(
                    f"  {question}", type=OptionalRating(), default="", show_default=False, err=True
                )
            )
    except (click.Abort, EOFError):
        return None
    valence, arousal = answers
    if valence is None and arousal is None:
        return None
    return valence, arousal


def listen(
    duration: Annotated[
        float | None, typer.Option(help="Stop after this many seconds (default: until Ctrl-C).")
    ] = None,
    rate: Annotated[
        bool,
        typer.Option(
            "--rate",
            help="After each track, ask for valence and arousal 1-5 (Enter leaves one blank).",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", help="No live view.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON event per line.")] = False,
    min_windows: Annotated[
        int | None, typer.Option(help="Valid windows a listen needs to count (config default).")
    ] = None,
    source_id: Annotated[
        str | None, typer.Option(help="The headset's LSL source id, when several stream.")
    ] = None,
    playback_rate: Annotated[
        float,
        typer.Option(
            help="Track seconds per wall second: 1 for Spotify; the emulator's --speed (then "
            "the player is polled, and a window read, that much more often, down to every "
            "0.25 s)."
        ),
    ] = 1.0,
) -> None:
    """Tag the tracks you play: read the EEG stream, classify it, store emotions per track.

    Needs a Muse stream on LSL (`muselsl stream`, `emotune replay`, `emotune simulate muse`),
    an active model and `emotune login`. Stop with Ctrl-C; nothing stored is lost.

    Example: emotune listen --rate
    """
    from app.jobs.listen import (
        ListenOptions,
        ListenSession,
        snapshot_from_playback,
        step_for_playback_rate,
    )
    from app.spotify import client_from_settings
    from classifier.lsl_source import EEGSource

    cfg = settings()
    store = open_user_store(cfg)
    predictor, model_id, model_name = _active_predictor(store)
    client = client_from_settings(cfg)
    source = EEGSource(
        cfg.eeg_stream_name, cfg.eeg_stream_type, source_id=source_id or cfg.eeg_source_id
    )
    source.connect()
    stop = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: stop.set())
    view = None if (quiet or as_json) else LiveView(model_name)

    import json

    def emit(event: dict[str, Any]) -> None:
        if as_json:
            sys.stdout.write(json.dumps(event, default=str) + "\n")
            sys.stdout.flush()
        elif view is not None:
            view.update(event)

    session = ListenSession(
        store,
        source,
        predictor,
        lambda: snapshot_from_playback(client.playback_state(), time.time()),
        model_id=model_id,
        recordings_dir=cfg.recordings_dir,
        options=ListenOptions(
            duration_s=duration,
            playback_rate=playback_rate,
            poll_interval_s=step_for_playback_rate(playback_rate),
            stride_s=step_for_playback_rate(playback_rate),
            min_windows_per_listen=min_windows or cfg.min_windows_per_listen,
            line_noise_hz=cfg.line_noise_hz,
        ),
        emit=emit,
        ask_rating=(view.paused_for(_ask_rating) if view else _ask_rating) if rate else None,
        stop=stop,
    )
    try:
        if view is not None:
            with view.live():
                summary = session.run()
        else:
            summary = session.run()
    finally:
        signal.signal(signal.SIGINT, previous)
        source.close()
        store.close()
    if not as_json and not quiet:
        console.print(
            f"session {summary.session_id}: {summary.listens} listens, "
            f"{summary.windows_kept} windows kept, {summary.windows_rejected} rejected, "
            f"{summary.windows_dropped} dropped at transitions, {summary.gaps} stream gaps; "
            f"raw EEG in {summary.raw_path}"
        )


class LiveView:
    """A rich live panel: track and time, per-channel quality, last window, running tag."""

    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.track = "-"
        self.track_started = time.time()
        self.last: dict[str, Any] = {}
        self.kept = self.rejected = self.dropped = 0
        self.tag = "-"
        self.track_windows: list[Any] = []  # this listen's kept windows, for the running tag
        self.gaps = 0
        self.warning = ""  # the latest contact warning (each electrode warns once)

    def live(self, target: Any = None) -> Any:
        from rich.live import Live

        self._live = Live(
            self._render(), console=target or console, refresh_per_second=4, transient=False
        )
        return self._live

    def paused_for(self, ask: Any) -> Any:
        """`ask`, wrapped so the panel stops redrawing while the question is on screen
        (a redraw would overwrite what the listener is typing). The session's events still
        update the panel meanwhile; it is drawn again, up to date, after the answer."""

        def ask_while_paused(info: dict[str, Any]) -> Any:
            live = getattr(self, "_live", None)
            if live is None or not live.is_started:
                return ask(info)
            live.stop()
            try:
                return ask(info)
            finally:
                live.start(refresh=True)

        return ask_while_paused

    def update(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "listen_start":
            self.track, self.track_started, self.tag = event["track"], time.time(), "-"
            self.track_windows = []
        elif kind == "window":
            self.last = event
            if event["rejected"]:
                self.rejected += 1
            elif event["placement"] == "inside":
                self.kept += 1
                if event["track"] == self.track:  # a late window of the previous track: not ours
                    self.tag = self._running_tag(event)
            elif event["placement"] == "transition":
                self.dropped += 1
        elif kind == "tag":
            self.tag = f"{event['emotion']} (confidence {event['confidence']:.2f})"
        elif kind == "gap":
            self.gaps += 1
        elif kind == "contact":
            self.warning = (
                f"{event['electrode']} bad for {event['bad_for_s']:g} s: {event['advice']}"
            )
        if hasattr(self, "_live"):
            self._live.update(self._render())

    def _running_tag(self, event: dict[str, Any]) -> str:
        """The tag so far, aggregated exactly as the store will (without the min-window rule)."""
        from app.aggregation import WindowProbs, aggregate_track

        self.track_windows.append(
            WindowProbs(0, event["p_valence"], event["p_arousal"], event["confidence"])
        )
        tag = aggregate_track(self.track_windows)
        if tag is None:
            return "-"
        return f"{tag.quadrant} so far (confidence {tag.confidence:.2f}, {tag.n_windows} windows)"

    def _render(self) -> Any:
        from rich.table import Table

        table = Table.grid(padding=(0, 2))
        elapsed = time.time() - self.track_started
        table.add_row("track", f"{self.track}  [{int(elapsed) // 60}:{int(elapsed) % 60:02d}]")
        quality = self.last.get("quality") or {}
        table.add_row(
            "signal",
            "  ".join(f"{ch} {_horseshoe(q)}" for ch, q in quality.items())
            or "waiting for the first window",
        )
        if self.warning:
            table.add_row("contact", self.warning)
        if self.last:
            pv, pa = self.last.get("p_valence"), self.last.get("p_arousal")
            text = (
                "rejected: " + str(self.last.get("reason"))
                if self.last["rejected"]
                else (f"valence {pv:.2f}  arousal {pa:.2f}" if pv is not None else "-")
            )
            table.add_row("last window", text)
        table.add_row("track tag", self.tag)
        table.add_row(
            "windows",
            f"{self.kept} kept, {self.rejected} rejected "
            f"({self.kept / max(1, self.kept + self.rejected):.0%} kept), "
            f"{self.dropped} dropped at transitions; {self.gaps} stream gaps",
        )
        table.add_row("model", self.model_name)
        return table


def _horseshoe(figures: dict[str, Any]) -> str:
    """The contact check's status of one electrode in one window: ● good ◐ so-so ○ bad."""
    from classifier.quality import contact_status

    return {"good": "●", "so-so": "◐", "bad": "○"}[contact_status(figures)]


# --- stored sessions ----------------------------------------------------------------


def reclassify(
    session: Annotated[
        list[int] | None, typer.Option(help="Only this session (repeatable); default: all.")
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one JSON object per session.")
    ] = False,
    threads: Annotated[int, typer.Option(min=1, help="CPU threads for the model.")] = 1,
) -> None:
    """Re-run the active model over stored sessions' raw EEG and recompute the track tags.

    Example: emotune reclassify --session 3
    """
    from rich.progress import Progress

    from app.jobs.reclassify import reclassify_sessions

    cfg = settings()
    store = open_user_store(cfg)
    try:
        predictor, model_id, model_name = _active_predictor(store, threads)
        with Progress(console=err_console, transient=True, disable=as_json) as progress:
            task = progress.add_task(f"re-classifying with {model_name}", total=None)

            def done(result: Any) -> None:
                progress.advance(task)
                if as_json:
                    print_json(result.__dict__)
                else:
                    console.print(
                        f"session {result.session_id}: {result.windows} windows "
                        f"({result.seconds_of_eeg / 60:.1f} min of EEG), {result.kept} kept, "
                        f"{result.rejected} rejected, {result.tracks_retagged} tracks re-tagged"
                    )

            results = reclassify_sessions(
                store,
                predictor,
                model_id,
                session_ids=session or None,
                min_windows_per_listen=cfg.min_windows_per_listen,
                line_noise_hz=cfg.line_noise_hz,
                on_session=done,
            )
    finally:
        store.close()
    if not results and not as_json:
        console.print("no sessions with raw EEG yet: `emotune listen` records them")


def import_recording(
    recording: Annotated[Path, typer.Argument(help="A `muselsl record` CSV file.")],
    track: Annotated[str, typer.Option(help="The track that played: URI, URL or id.")],
    start: Annotated[
        str, typer.Option(help="When it started playing, ISO 8601 (UTC if no offset).")
    ],
    duration: Annotated[
        float | None, typer.Option(help="Seconds it played (default: to the recording's end).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Bring in a muselsl recording made earlier while a track played, and tag the track.

    Example: emotune import-recording rec.csv --track URI --start 2026-11-24T20:15:00Z
    """
    from app.jobs.reclassify import import_recording as run_import

    cfg = settings()
    store = open_user_store(cfg)
    try:
        predictor, model_id, _ = _active_predictor(store)
        result = run_import(
            store,
            predictor,
            model_id,
            recording,
            track=track,
            start=start,
            recordings_dir=cfg.recordings_dir,
            duration_s=duration,
            min_windows_per_listen=cfg.min_windows_per_listen,
            line_noise_hz=cfg.line_noise_hz,
        )
    finally:
        store.close()
    if as_json:
        print_json(result.__dict__)
    else:
        console.print(
            f"imported as session {result.session_id}: {result.windows} windows, "
            f"{result.kept} on the track, {result.rejected} rejected"
        )


def sessions(
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON list.")] = False,
) -> None:
    """List listening sessions: when, which stream, how many listens and windows, the raw file.

    Example: emotune sessions --json
    """
    from sqlalchemy import func, select

    from app.db.models import Listen, ListeningSession, StreamGap, WindowPrediction

    store = open_user_store()
    try:
        with store.session() as db:
            rows = []
            for s in db.scalars(select(ListeningSession).order_by(ListeningSession.id)):
                count = lambda model, s=s: db.scalar(  # noqa: E731
                    select(func.count()).select_from(model).where(model.session_id == s.id)
                )
                rows.append(
                    {
                        "id": s.id,
                        "started_at": s.started_at,
                        "ended_at": s.ended_at,
                        "stream": s.stream_name,
                        "source_id": s.stream_source_id,
                        "listens": count(Listen),
                        "windows": count(WindowPrediction),
                        "gaps": count(StreamGap),
                        "raw_path": s.raw_path,
                        # the wearer statistics its windows were classified with, or null
                        "alignment": s.alignment,
                    }
                )
    finally:
        store.close()
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print("no sessions yet: `emotune listen` records one")
    for r in rows:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(r["started_at"]))
        console.print(
            f"{r['id']:>4}  {when}  {r['stream']:<24} {r['listens']:>3} listens "
            f"{r['windows']:>6} windows {r['gaps']:>2} gaps  {r['raw_path'] or '-'}"
        )


def register(app: typer.Typer) -> None:
    app.command("listen")(listen)
    app.command("sessions")(sessions)
    app.command("reclassify")(reclassify)
    app.command("import-recording")(import_recording)
