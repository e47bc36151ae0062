"""What `emotune listen` costs: CPU share at real time, and seconds to reclassify an hour.

1. CPU share of one core taken by `emotune listen` on a live 256 Hz stream
   (SYNTHETIC EEG from `emotune simulate muse`, a track playing on the local
   Spotify emulator), read from /proc over 10-s slices after start-up; the
   baseline in the same run is a bare pylsl inlet pulling the same stream.
   Goal: median under 10% of one core.
2. Seconds to re-classify one hour of stored SYNTHETIC EEG (a FIF session with
   15 listens), beside the bare TSCeption forward over the same number of
   windows. Goal: under 5 s.

Run: .venv/bin/python benchmarks/bench_listen.py [--slices 5]
Ends with one JSON line of figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TICKS = os.sysconf("SC_CLK_TCK")

BARE_INLET = """
import sys, time
from classifier.lsl_discovery import import_pylsl
pylsl = import_pylsl()
info = [i for i in pylsl.resolve_byprop("type", "EEG", 1, 10) if i.source_id() == sys.argv[1]][0]
inlet = pylsl.StreamInlet(info)
while True:
    inlet.pull_chunk(timeout=0.25, max_samples=256)
    time.sleep(0.25)
"""


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def bench_cpu_share(slices: int, slice_s: float = 10.0) -> dict:
    from app.config import load_settings
    from app.spotify import client_from_settings, login
    from playlists.emulator import SampleTrack, start_emulator

    home = Path(tempfile.mkdtemp(prefix="emotune-bench-"))
    env = {**os.environ, "EMOTUNE_HOME": str(home)}
    os.environ.update(env)
    source_id = f"MuseBench-{uuid.uuid4().hex[:6]}"
    duration = 20 + slices * slice_s + 10
    track = SampleTrack(
        id="0SynthBenchTrack000001", name="Synthetic bench track", duration_ms=int(duration * 2000)
    )
    subprocess.run([sys.executable, "-m", "app", "init"], env=env, check=True, capture_output=True)
    _register_demo_model(home)
    procs = []
    with start_emulator(tracks=[track]) as emulator:
        env["EMOTUNE_SPOTIFY_URL"] = os.environ["EMOTUNE_SPOTIFY_URL"] = emulator.url
        env["SPOTIPY_REDIRECT_URI"] = os.environ["SPOTIPY_REDIRECT_URI"] = (
            "http://127.0.0.1:18777/callback"
        )
        login(
            load_settings(),
            open_url=lambda u: urllib.request.urlopen(u).read(),
            show=lambda s: None,
            timeout_s=20,
        )
        try:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "app", "simulate", "muse", "--source-id", source_id],
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            time.sleep(3)
            client_from_settings(load_settings()).start_playback([track.uri])
            listener = subprocess.Popen(
                [sys.executable, "-m", "app", "listen", "--quiet", "--duration", str(duration)],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            procs.append(listener)
            bare = subprocess.Popen([sys.executable, "-c", BARE_INLET, source_id], env=env)
            procs.append(bare)
            time.sleep(20.0)  # start-up (imports, model load) is not steady state
            listen_shares, bare_shares = [], []
            for _ in range(slices):
                c_l, c_b, t0 = cpu_seconds(listener.pid), cpu_seconds(bare.pid), time.monotonic()
                time.sleep(slice_s)
                wall = time.monotonic() - t0
                listen_shares.append((cpu_seconds(listener.pid) - c_l) / wall)
                bare_shares.append((cpu_seconds(bare.pid) - c_b) / wall)
        finally:
            for p in procs:
                p.kill()
                p.wait()
    listen_med, bare_med = statistics.median(listen_shares), statistics.median(bare_shares)
    print(
        f"emotune listen CPU share: median {listen_med:.1%} of one core "
        f"(slices: {', '.join(f'{s:.1%}' for s in listen_shares)}); goal < 10%"
    )
    print(
        f"bare pylsl inlet on the same stream: median {bare_med:.1%}; "
        f"ratio listen/bare {listen_med / max(bare_med, 1e-9):.1f}x"
    )
    return {
        "listen_cpu_share_median": round(listen_med, 4),
        "bare_inlet_cpu_share_median": round(bare_med, 4),
        "listen_cpu_goal_met": listen_med < 0.10,
    }


def _register_demo_model(home: Path) -> None:
    import classifier
    from app.db import repository
    from app.db.engine import open_store

    path = Path(classifier.__file__).parent / "data" / "demo-synthetic-tsception.pt"
    store = open_store(f"sqlite:///{home / 'emotune.db'}")
    with store.session() as db:
        repository.register_model(
            db, name="demo-synthetic-tsception", kind="eeg", path=str(path), activate=True
        )
    store.close()


def bench_reclassify(repeats: int = 3, threads: int = 1) -> dict:
    import torch

    from app.db import repository
    from app.db.engine import open_store
    from app.db.models import Listen, ListeningSession
    from app.jobs.reclassify import reclassify_sessions
    from classifier.pipeline import Predictor
    from classifier.raw_store import RawRecording, write_fif
    from classifier.synthetic import synthetic_muse_eeg

    torch.set_num_threads(threads)  # as `emotune reclassify --threads`
    home = Path(tempfile.mkdtemp(prefix="emotune-bench-"))
    t0 = 1_790_000_000.0
    seconds = 3600
    samples = np.concatenate(
        [
            synthetic_muse_eeg(240.0, mood, seed=i).astype(np.float64)
            for i, mood in enumerate(["happy", "calm", "sad", "tense"] * 4)
        ][:15]
    )
    stamps = t0 + np.arange(len(samples)) / 256.0
    labels = ("TP9", "AF7", "AF8", "TP10", "Right AUX")
    fif = write_fif(home / "session-00001_raw.fif", RawRecording(samples, stamps, labels, 256.0))
    store = open_store(f"sqlite:///{home / 'emotune.db'}")
    demo = (
        Path(__file__).resolve().parents[1] / "classifier" / "data" / "demo-synthetic-tsception.pt"
    )
    predictor = Predictor.load(demo)
    with store.session() as db:
        model = repository.register_model(
            db, name="demo", kind="eeg", path=str(demo), activate=True
        )
        session = ListeningSession(started_at=t0, ended_at=stamps[-1], raw_path=str(fif))
        db.add(session)
        db.flush()
        for i in range(15):
            track = repository.upsert_track(db, spotify_id=f"0SynthBench{i:011d}")
            a, b = t0 + 240 * i, t0 + 240 * (i + 1)
            db.add(
                Listen(
                    session_id=session.id,
                    track_id=track.id,
                    started_at=a,
                    ended_at=b,
                    segments=[[a, b]],
                )
            )
        model_id = model.id
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        [result] = reclassify_sessions(store, predictor, model_id, min_windows_per_listen=10)
        times.append(time.perf_counter() - start)
    store.close()
    # Baseline: the bare TSCeption forward over the same number of windows, batch 256.
    windows = torch.randn(result.windows, 1, 4, 512)
    net = predictor.model
    bare = []
    if net is not None:
        net.eval()
        for _ in range(repeats):
            start = time.perf_counter()
            with torch.no_grad():
                for i in range(0, len(windows), 256):
                    net(windows[i : i + 256])
            bare.append(time.perf_counter() - start)
    med = statistics.median(times)
    bare_med = statistics.median(bare) if bare else float("nan")
    print(
        f"reclassify {len(samples) / 256 / 60:.0f} min of EEG ({result.windows} windows, "
        f"15 listens): median {med:.2f} s over {repeats} runs; goal < 5 s"
    )
    print(
        f"bare TSCeption forward over {result.windows} windows: median {bare_med:.2f} s; "
        f"ratio {med / bare_med:.1f}x"
    )
    return {
        "reclassify_hour_s_median": round(med, 3),
        "bare_forward_s_median": round(bare_med, 3),
        "windows": result.windows,
        "reclassify_goal_met": med < 5.0,
        "seconds_of_eeg": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=5, help="10-s CPU slices to measure")
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for reclassify")
    args = parser.parse_args()
    figures = {}
    if not args.skip_cpu:
        figures.update(bench_cpu_share(args.slices))
    figures.update(bench_reclassify(threads=args.threads))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
