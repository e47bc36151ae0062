"""The offline demo: the whole product on one machine, with no headset and no Spotify account.

Reads top to bottom in `run_demo`: a fresh demo home; the local Spotify
emulator and a real PKCE login against it; a simulated Muse publishing
SYNTHETIC EEG over real LSL in its own process, feeling each track's scripted mood; the
emulator's player running a sequence of sample tracks (sped up) while the same
`ListenSession` that `emotune listen` runs tags them with the demo model
(trained on synthetic EEG); then sync, sort and queue against the emulator;
finally a summary and two pictures.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import classifier
from app.emotions import EMOTIONS
from app.privacy import user_umask

DEMO_MODEL = Path(classifier.__file__).parent / "data" / "demo-synthetic-tsception.pt"
DEMO_SOURCE_ID = "Muse00:55:DA:B0:DE:30"  # a made-up MAC for the simulated headset
MOOD_CYCLE = ("happy", "calm", "sad", "tense")


@dataclass
class DemoOptions:
    out: Path
    tracks: int = 8
    speed: float = 25.0  # emulator track-seconds per wall second
    # A track must play long enough for `min_windows` 4-s windows of (real-time) EEG, one
    # every `stride_s`, inside it (4 + 3 x 0.25 = 4.75 s), and for the last of them to be
    # read before the next track is seen.
    min_track_wall_s: float = 6.0
    max_track_wall_s: float = 15.0
    min_windows: int = 4
    # `emotune listen` reads a window every 1 s and polls Spotify every 1 s; sped up, the
    # demo reads a window every 0.25 s and polls the emulator's player every 0.5 s (12.5 s
    # of track time at 25x), so four windows fit the few seconds each track plays.
    stride_s: float = 0.25
    poll_interval_s: float = 0.5


@dataclass
class DemoResult:
    tracks: list[dict[str, Any]] = field(default_factory=list)
    playlists: dict[str, list[str]] = field(default_factory=dict)
    sort: dict[str, Any] = field(default_factory=dict)
    queue: dict[str, Any] = field(default_factory=dict)
    pictures: list[str] = field(default_factory=list)
    music: dict[str, Any] = field(default_factory=dict)  # a mostly unheard playlist, placed
    wall_s: float = 0.0
    agreement: int = 0  # tracks whose tag matches the scripted mood


def prepare_home(out: Path) -> Path:
    """A fresh demo home under `out` (the previous demo's is replaced; nothing else is touched)."""
    home = out / "demo-home"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    os.environ["EMOTUNE_HOME"] = str(home)
    for name in ("EMOTUNE_CONFIG", "EMOTUNE_DATABASE_URL", "SPOTIPY_CLIENT_ID"):
        os.environ.pop(name, None)
    return home


def pick_tracks(emulator: Any, opts: DemoOptions) -> list[Any]:
    """The shortest sample-library tracks that play at least `min_track_wall_s` (and at most
    `max_track_wall_s`) at the demo speed, in library order."""
    fitting = []
    for track_id in emulator.sample_track_ids():
        track = emulator.track(track_id)
        wall = track.duration_ms / 1000 / opts.speed
        if track.kind == "track" and opts.min_track_wall_s <= wall <= opts.max_track_wall_s:
            fitting.append(track)
    if len(fitting) < opts.tracks:
        raise RuntimeError("the sample library has too few tracks of a demo-friendly length")
    shortest = {t.id for t in sorted(fitting, key=lambda t: t.duration_ms)[: opts.tracks]}
    return [t for t in fitting if t.id in shortest]


def track_moods(tracks: list[Any]) -> list[str]:
    """The mood the simulated listener feels during each track: happy, calm, sad, tense, ..."""
    return [MOOD_CYCLE[i % len(MOOD_CYCLE)] for i in range(len(tracks))]


def run_demo(
    opts: DemoOptions, say: Callable[[str], None], on_event: Callable[[dict], None]
) -> DemoResult:
    from app.config import load_settings
    from app.db import repository
    from app.db.engine import open_store
    from app.spotify import client_from_settings, login
    from playlists.emulator import start_emulator

    started = time.monotonic()
    result = DemoResult()
    with user_umask():  # --out follows the user's umask; the demo home in it is owner-only
        opts.out.mkdir(parents=True, exist_ok=True)
    home = prepare_home(opts.out)
    say(f"demo home: {home} (a fresh store; your own emotune data is not touched)")

    # 1. The local Spotify emulator, and a real PKCE login against it.
    with start_emulator(speed=opts.speed) as emulator:
        os.environ["EMOTUNE_SPOTIFY_URL"] = emulator.url
        os.environ["SPOTIPY_REDIRECT_URI"] = f"http://127.0.0.1:{_free_port()}/callback"
        cfg = load_settings()
        say(f"Spotify emulator on {emulator.url}; logging in with PKCE against it")
        login(
            cfg,
            open_url=lambda url: urllib.request.urlopen(url, timeout=10).read(),
            show=lambda text: None,
            timeout_s=30,
        )
        client = client_from_settings(cfg)

        # 2. The simulated headset: SYNTHETIC EEG over real LSL; its listener feels each track.
        tracks = pick_tracks(emulator, opts)
        moods = track_moods(tracks)
        feelings = opts.out / "demo-track-moods.txt"
        with user_umask():
            feelings.write_text(
                "".join(f"{t.uri} {m}\n" for t, m in zip(tracks, moods, strict=True))
            )
        say(
            "simulated Muse (SYNTHETIC EEG) over LSL; the simulated listener feels: "
            + ", ".join(moods)
        )
        simulator = subprocess.Popen(
            [sys.executable, "-m", "app", "simulate", "muse", "--follow-player", str(feelings),
             "--source-id", DEMO_SOURCE_ID],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # While the simulated headset starts in its own process: the store, the model, and
        # (in a thread) what the steps after listening need.
        store = open_store(cfg.database_url)
        with store.session() as db:
            model = repository.register_model(
                db,
                name="demo-synthetic-tsception",
                kind="eeg",
                path=str(DEMO_MODEL),
                description="TSCeption trained on SYNTHETIC Muse-like EEG (demo only)",
                activate=True,
            )
            model_id = model.id
        from app.jobs.listen import ListenOptions, ListenSession, snapshot_from_playback
        from classifier.lsl_source import EEGSource
        from classifier.pipeline import Predictor, set_torch_threads

        set_torch_threads(1)  # real-time work is light; a second thread only adds contention
        predictor = Predictor.load(DEMO_MODEL)
        lastfm = _after_listening_in_background(tracks, moods)
        source = EEGSource(
            cfg.eeg_stream_name, cfg.eeg_stream_type, source_id=DEMO_SOURCE_ID, resolve_timeout_s=20
        )
        try:
            source.connect()
            # 3. Play the tracks (sped up) while the real listening pipeline tags them;
            # playback starts once the session is up, so no track begins unobserved, and the
            # session ends when the last track has been played.
            play_s = sum(t.duration_ms for t in tracks) / 1000 / opts.speed
            say(
                f"playing {len(tracks)} sample tracks at {opts.speed:g}x ({play_s:.0f} s) "
                "while `emotune listen`'s pipeline tags them"
            )
            session_stop = threading.Event()

            def on_session_event(event: dict) -> None:
                if event["event"] == "session":
                    client.start_playback([t.uri for t in tracks])
                elif event["event"] == "listen_end" and event["uri"] == tracks[-1].uri:
                    session_stop.set()  # the tag follows this event; then the session ends
                on_event(event)

            session = ListenSession(
                store,
                source,
                predictor,
                lambda: snapshot_from_playback(client.playback_state(), time.time()),
                model_id=model_id,
                recordings_dir=cfg.recordings_dir,
                options=ListenOptions(
                    duration_s=play_s + 10.0,  # only bounds a run whose last track never ends
                    playback_rate=opts.speed,
                    min_windows_per_listen=opts.min_windows,
                    stride_s=opts.stride_s,
                    poll_interval_s=opts.poll_interval_s,
                ),
                emit=on_session_event,
                stop=session_stop,
            )
            session.run()
            # 4. Sync, sort, queue --now, against the emulator (the mood reading is fresh).
            from app.jobs.queue import queue_for_mood, require_eeg_mood

            mood = require_eeg_mood(cfg)
        except BaseException:
            lastfm.add_done_callback(_stop_lastfm)
            raise
        finally:
            source.close()
            simulator.kill()
            simulator.wait()
        from app.jobs.sort import run_sort
        from app.jobs.sync import playlist_name, run_sync

        with lastfm.result() as fm:  # started while the tracks played
            say("sync: one playlist per emotion")
            # The demo model is synthetic-trained on purpose, so its tags are used here.
            sync = run_sync(cfg, client, include_synthetic=True)
            mixed = client.create_playlist("emotune demo · mixed", "sample tracks in play order")
            client.add_items(mixed.id, [t.uri for t in tracks])
            say("sort: the mixed playlist along an arc through the valence-arousal plane")
            result.sort = run_sort(cfg, client, mixed.id, by="arc", include_synthetic=True)
            say("queue --now: tracks that match the current (synthetic) mood")
            result.queue = queue_for_mood(
                cfg, client, mood[0], mood[1], count=3, include_synthetic=True
            )
            say(
                "music tags: a mostly unheard playlist placed by (emulated) Last.fm tags, "
                "then sorted"
            )
            result.music = _music_sort(cfg, client, emulator, fm, tracks)
        names = {t.uri: t.name for t in tracks}
        for p in sync.playlists:
            items = client.playlist_items(p["playlist_id"])
            result.playlists[p["emotion"]] = [names.get(i.uri, i.uri or "?") for i in items]

        # 5. The summary and the pictures.
        from app.plots import draw_mood_map, draw_timelines, track_points, track_timelines

        with store.session() as db:
            tagged = {r.uri: r for r in repository.list_tracks(db)}
            points, timelines = track_points(db), track_timelines(db, limit=len(tracks))
        store.close()
    for track, scripted in zip(tracks, moods, strict=True):
        row = tagged.get(track.uri)
        result.tracks.append({
            "name": track.name, "uri": track.uri, "scripted_mood": scripted,
            "emotion": row.emotion if row else None,
            "confidence": row.confidence if row else None,
            "windows": row.n_windows if row else 0,
        })  # fmt: skip
    result.agreement = sum(1 for t in result.tracks if t["emotion"] == t["scripted_mood"])
    result.pictures = [
        str(draw_mood_map(points, opts.out / "mood-map.png",
                          title="Demo mood map (SYNTHETIC EEG, demo model)")),
        str(draw_timelines(timelines, opts.out / "timeline.png",
                           title="Demo window predictions (SYNTHETIC EEG)")),
    ]  # fmt: skip
    for emotion in EMOTIONS:
        result.playlists.setdefault(emotion, [])
    result.playlists = {playlist_name(e): result.playlists[e] for e in EMOTIONS}
    result.wall_s = time.monotonic() - started
    return result


def _after_listening_in_background(heard: list[Any], moods: list[str]) -> Future:
    """What the steps after listening need, made in a worker thread while the tracks play
    (listening waits on real-time EEG, so the machine is mostly idle): the plotting and
    playlist modules imported, and the Last.fm emulator (its CA and sample library) started
    with the heard tracks' scripted moods. The future's result is the emulator's handle."""

    def prepare() -> Any:
        import mne  # noqa: F401  (the session's raw EEG is written as FIF when it ends)

        import app.jobs.music
        import app.jobs.sort
        import app.jobs.sync  # noqa: F401
        from app.plots import _pyplot
        from playlists.lastfm_emulator import start_lastfm_emulator

        _pyplot()  # matplotlib: the slowest import of the demo

        return start_lastfm_emulator(moods={t.uri: m for t, m in zip(heard, moods, strict=True)})

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="demo-prepare")
    future = pool.submit(prepare)
    pool.shutdown(wait=False)
    return future


def _stop_lastfm(started: Future) -> None:
    """Stop the Last.fm emulator once it is up (the demo failed before it was used)."""
    if started.exception() is None:
        started.result().stop()


def _music_sort(
    cfg: Any, client: Any, emulator: Any, fm: Any, heard: list[Any], unheard: int = 22
) -> dict[str, Any]:
    """The heard tracks among `unheard` others in one playlist: Last.fm tags from the local
    emulator `fm` (scripted moods, the heard tracks' own included) place the rest; sort by arc."""
    from app.config import load_settings
    from app.db import repository
    from app.db.engine import open_store
    from app.jobs.music import run_music_fetch
    from app.jobs.sort import run_sort
    from app.lastfm import client_from_settings as lastfm_client
    from playlists.lastfm_emulator import SANDBOX_API_KEY

    heard_uris = [t.uri for t in heard]
    others = [f"spotify:track:{i}" for i in emulator.sample_track_ids()]
    others = [u for u in others if u not in heard_uris][:unheard]
    step = max(1, len(others) // max(1, len(heard_uris)))
    uris = list(others)
    for k, uri in enumerate(heard_uris):  # the heard tracks spread through the playlist
        uris.insert(min(len(uris), k * (step + 1)), uri)
    os.environ.update(
        LASTFM_API_KEY=SANDBOX_API_KEY, EMOTUNE_LASTFM_URL=fm.url, EMOTUNE_LASTFM_CA=fm.ca_file
    )
    cfg = load_settings()
    mixed = client.create_playlist("emotune demo · mostly unheard", "sample tracks, few heard")
    client.add_items(mixed.id, uris)
    fetch = run_music_fetch(
        cfg, lastfm_client(cfg, min_interval_s=0.0), spotify=client, playlist=mixed.id
    )
    sort = run_sort(cfg, client, mixed.id, by="arc", include_synthetic=True)
    order = [item.uri for item in client.playlist_items(mixed.id)]
    scripted = {u: fm.scripted_mood(u) for u in order}
    store = open_store(cfg.database_url)
    try:
        with store.session() as db:
            rows = {r.uri: r for r in repository.list_tracks(db, include_music=True)}
    finally:
        store.close()
    return {
        "playlist": sort["name"],
        "tracks": len(order),
        "heard": len(heard_uris),
        "placed": sort["tagged"],
        "unplaced": sort["unplaced"],
        "by_basis": sort["by_basis"],
        "lastfm": {k: fetch[k] for k in ("track_tags", "artist_tags", "no_mood_tags")},
        "order": [
            {
                "name": rows[u].name if u in rows else u,
                "placed_by": "heard" if u in heard_uris else (rows[u].basis if u in rows else None),
                "emotion": rows[u].emotion if u in rows else None,
                "scripted_mood": scripted.get(u),
            }
            for u in order
        ],
    }


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
