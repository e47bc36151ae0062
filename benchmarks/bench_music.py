"""Music-side mood against the local emulators: placed share, agreement, fetch time.

Over real HTTP(S): the Spotify emulator's synthetic 300-track sample library in one
playlist, the Last.fm emulator (tags carrying each track's scripted mood, noise tags,
tracks with only artist tags), emotune's own jobs (`music fetch`, `music fit`, `sort`)
on a fresh store in a temporary folder.

1. Fetch 300 tracks at Last.fm's 5 requests/s (goal: within 1.2x of 300 / 5 = 60 s),
   then again from the cache (goal: under 1 s).
2. `sort` of the 300-track playlist: share placed (goal: 100% of tracks with any tag).
3. Quadrant agreement with the scripted moods on the 280 other tracks, crowd position vs
   fitted on 20 tracks with EEG-style tags from a SYNTHETIC listener, for two listeners:
   one who hears the songs as scripted, one roused by everything (arousal +0.3, so calm
   songs feel happy and sad ones tense: their truth is the shifted quadrant). Beside
   them `music fit`'s own leave-one-track-out figures and the majority rate.

Run: .venv/bin/python benchmarks/bench_music.py            (about 70 s)
     .venv/bin/python benchmarks/bench_music.py --quick    (no spacing: not the 5/s figure)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
from pathlib import Path

N_TRACKS = 300
N_TAGGED = 20
SEED = 2026
CENTRES = {"happy": (0.75, 0.75), "calm": (0.75, 0.25), "sad": (0.25, 0.25), "tense": (0.25, 0.75)}


def quadrant(v: float, a: float) -> str:
    return ("happy" if a > 0.5 else "calm") if v > 0.5 else ("tense" if a > 0.5 else "sad")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="no 0.2 s spacing (dev only)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="emotune-bench-music-"))
    os.environ["EMOTUNE_HOME"] = str(home)
    for name in ("EMOTUNE_CONFIG", "EMOTUNE_DATABASE_URL", "SPOTIPY_CLIENT_ID"):
        os.environ.pop(name, None)
    from sqlalchemy import select

    from app.config import load_settings
    from app.db.engine import open_store
    from app.db.models import MusicTag, Track, TrackTag
    from app.jobs.music import run_music_fetch, run_music_fit
    from app.jobs.sort import run_sort
    from app.lastfm import client_from_settings as lastfm_client
    from app.spotify import client_from_settings, login
    from playlists.client import headless_open_url
    from playlists.emulator import start_emulator
    from playlists.lastfm_emulator import SANDBOX_API_KEY, start_lastfm_emulator

    out: dict = {"tracks": N_TRACKS, "spacing_s": 0.0 if args.quick else 0.2}
    with (
        start_emulator(n_sample_tracks=N_TRACKS) as emu,
        start_lastfm_emulator(n_sample_tracks=N_TRACKS, seed=SEED) as fm,
    ):
        os.environ.update(
            EMOTUNE_SPOTIFY_URL=emu.url,
            SPOTIPY_REDIRECT_URI="http://127.0.0.1:18931/callback",
            LASTFM_API_KEY=SANDBOX_API_KEY,
            EMOTUNE_LASTFM_URL=fm.url,
            EMOTUNE_LASTFM_CA=fm.ca_file,
        )
        cfg = load_settings()
        login(cfg, open_url=headless_open_url, show=lambda _t: None)
        spotify = client_from_settings(cfg)
        uris = [f"spotify:track:{i}" for i in emu.sample_track_ids()]
        pid = emu.make_playlist("bench · 300 unheard", uris)

        spacing = {"min_interval_s": 0.0} if args.quick else {}
        fetch = run_music_fetch(cfg, lastfm_client(cfg, **spacing), spotify=spotify, playlist=pid)
        cached = run_music_fetch(cfg, lastfm_client(cfg), spotify=spotify, playlist=pid)
        out["fetch"] = {k: fetch[k] for k in ("wall_s", "requests", "track_tags", "artist_tags",
                                              "no_mood_tags", "placed")}  # fmt: skip
        out["fetch"]["goal_s"] = 1.2 * N_TRACKS / 5
        out["fetch_cached"] = {k: cached[k] for k in ("wall_s", "requests", "cached")}

        sort = run_sort(cfg, spotify, pid, by="arc")
        out["sort"] = {
            "placed": sort["tagged"],
            "unplaced": sort["unplaced"],
            "placed_share": sort["tagged"] / N_TRACKS,
            "by_basis": sort["by_basis"],
        }

        rng = random.Random(SEED)
        store = open_store(cfg.database_url)
        with store.session() as db:
            crowd = {
                uri: (m.crowd_valence, m.crowd_arousal)
                for m, uri in db.execute(select(MusicTag, Track.uri).join(Track)).all()
                if m.crowd_valence is not None
            }
            ids = {t.uri: t.id for t in db.scalars(select(Track))}
        tagged = rng.sample(sorted(crowd), N_TAGGED)
        held = [u for u in crowd if u not in tagged]
        listeners = {"as scripted": 0.0, "roused (+0.3 arousal)": 0.3}
        out["agreement"] = {}
        for name, shift in listeners.items():

            def truth(uri: str, shift: float = shift) -> tuple[float, float]:
                v, a = CENTRES[fm.scripted_mood(uri)]
                return v, min(1.0, a + shift)

            with store.session() as db:  # SYNTHETIC listener: EEG-style tags near the truth
                for t in db.scalars(select(TrackTag)):
                    db.delete(t)
                db.flush()
                for uri in tagged:
                    v, a = truth(uri)
                    v = min(1.0, max(0.0, v + rng.gauss(0, 0.08)))
                    a = min(1.0, max(0.0, a + rng.gauss(0, 0.08)))
                    db.add(TrackTag(track_id=ids[uri], valence=v, arousal=a,
                                    quadrant=quadrant(v, a), confidence=0.7, n_windows=30,
                                    n_listens=1, source="eeg", basis="generic"))  # fmt: skip
            result = run_music_fit(cfg)
            with store.session() as db:
                used = {
                    uri: (m.valence, m.arousal)
                    for m, uri in db.execute(select(MusicTag, Track.uri).join(Track)).all()
                    if m.valence is not None
                }

            def agree(pos: dict, truth=truth) -> float:
                return sum(quadrant(*pos[u]) == quadrant(*truth(u)) for u in held) / len(held)

            out["agreement"][name] = {
                "held_out_tracks": len(held),
                "crowd": agree(crowd),
                "fitted": agree(used),
                "loto_fitted": result["fitted_agreement"],
                "loto_crowd": result["crowd_agreement"],
                "loto_majority_rate": result["majority_rate"],
            }
        store.close()

    f, c = out["fetch"], out["fetch_cached"]
    print(f"fetch {N_TRACKS} tracks: {f['wall_s']:.1f} s, {f['requests']} requests "
          f"(goal <= {f['goal_s']:.0f} s at 5/s); track tags {f['track_tags']}, artist tags "
          f"{f['artist_tags']}, none {f['no_mood_tags']}")  # fmt: skip
    print(f"fetch again from the cache: {c['wall_s']:.3f} s, {c['requests']} requests (goal < 1 s)")
    s = out["sort"]
    print(f"sort: {s['placed']}/{N_TRACKS} placed ({100 * s['placed_share']:.0f}%), "
          f"{s['unplaced']} unplaced; by basis {s['by_basis']}")  # fmt: skip
    for name, a in out["agreement"].items():
        loto = (
            f"fitted {100 * a['loto_fitted']:.0f}%, crowd {100 * a['loto_crowd']:.0f}%, "
            f"majority rate {100 * a['loto_majority_rate']:.0f}%"
        )
        print(
            f"listener {name}: on {a['held_out_tracks']} held-out tracks crowd "
            f"{100 * a['crowd']:.0f}%, fitted on {N_TAGGED} {100 * a['fitted']:.0f}%; "
            f"music fit leave-one-track-out: {loto}"
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
