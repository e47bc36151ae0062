"""Requests made by emotune's playlist sync, beside a naive replace-everything sync.

Against the local Spotify emulator (synthetic sample library), over real HTTP
through spotipy: 8 playlists x 1,000 tracks synced (1) from empty, (2) after 5%
of the tags change (400 tracks move to another playlist), (3) with nothing
changed. The baseline, measured in the same run on its own 8 playlists, is a
naive sync that replaces every playlist wholesale each time (PUT 100 + POST the
rest). Goals: item writes within 1.1x of the lower bound, zero writes when
nothing changed. Lower bounds per playlist: ceil(changes / 100) as the issue
states it (changes = added + removed), and ceil(added / 100) + ceil(removed /
100), which is what the API allows (an add and a remove cannot share a request).
Then the planner's time for 10,000 tracks (goal under 100 ms), median of 7.

Run: .venv/bin/python benchmarks/bench_sync.py
"""

from __future__ import annotations

import json
import math
import random
import statistics
import tempfile
import time
from pathlib import Path

from playlists.apply import KnownPlaylist, sync_playlist
from playlists.client import headless_open_url, login, make_client
from playlists.emulator import start_emulator
from playlists.planning import WRITE_BATCH, Tag, plan_sort, plan_sync

N_PLAYLISTS = 8
PER_PLAYLIST = 1000
CHANGE_SHARE = 0.05
PLANNER_TRACKS = 10_000
RUNS = 7
SEED = 4


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def desired_lists(ids: list[str], rng: random.Random) -> tuple[list[list[str]], list[list[str]]]:
    """(before, after): 8 lists of 1,000 URIs, then 5% of all tracks moved to another list."""
    uris = [f"spotify:track:{i}" for i in ids[: N_PLAYLISTS * PER_PLAYLIST]]
    confidence = {u: rng.random() for u in uris}
    owner = {u: k // PER_PLAYLIST for k, u in enumerate(uris)}
    moved = rng.sample(uris, int(len(uris) * CHANGE_SHARE))
    after_owner = dict(owner)
    for u in moved:
        after_owner[u] = rng.choice([p for p in range(N_PLAYLISTS) if p != owner[u]])

    def lists(own: dict[str, int]) -> list[list[str]]:
        out: list[list[str]] = [[] for _ in range(N_PLAYLISTS)]
        for u in sorted(uris, key=lambda u: -confidence[u]):  # best confidence first
            out[own[u]].append(u)
        return out

    return lists(owner), lists(after_owner)


def smart_round(client, emu, names, desired, known) -> dict:
    """One emotune sync of all playlists; returns request counts and the bound."""
    start = dict(emu.request_counts())
    t0 = time.perf_counter()
    mine = {p.id: p for p in client.my_playlists()}
    creates = 0
    lb_issue = lb_api = 0
    changes = 0
    for k, name in enumerate(names):
        result = sync_playlist(
            client, name=name, desired=desired[k], known=known.get(name), mine=mine
        )
        known[name] = KnownPlaylist(result.playlist_id, result.snapshot_id, tuple(result.uris))
        creates += int(result.created)
        plan = result.plan
        changes += plan.added + plan.removed
        lb_issue += math.ceil((plan.added + plan.removed) / WRITE_BATCH)
        lb_api += math.ceil(plan.added / WRITE_BATCH) + math.ceil(plan.removed / WRITE_BATCH)
    seconds = time.perf_counter() - t0
    end = emu.request_counts()
    writes = end["write"] - start["write"]
    return {
        "read": end["read"] - start["read"],
        "write": writes,
        "item_writes": writes - creates,
        "creates": creates,
        "changes": changes,
        "lower_bound_issue": lb_issue,
        "lower_bound_api": lb_api,
        "seconds": round(seconds, 3),
    }


def naive_round(client, emu, playlist_ids, desired) -> dict:
    """Replace every playlist wholesale: PUT the first 100, POST the rest."""
    start = dict(emu.request_counts())
    t0 = time.perf_counter()
    for pid, uris in zip(playlist_ids, desired, strict=True):
        client.replace_items(pid, uris[:WRITE_BATCH])
        for i in range(WRITE_BATCH, len(uris), WRITE_BATCH):
            client.add_items(pid, uris[i : i + WRITE_BATCH])
    seconds = time.perf_counter() - t0
    end = emu.request_counts()
    return {
        "read": end["read"] - start["read"],
        "write": end["write"] - start["write"],
        "item_writes": end["write"] - start["write"],
        "seconds": round(seconds, 3),
    }


def median_ms(fn, runs: int = RUNS) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def planner_figures(rng: random.Random) -> dict:
    uris = [f"spotify:track:{i:022d}" for i in range(PLANNER_TRACKS + 500)]
    current = uris[:PLANNER_TRACKS]
    gone = set(rng.sample(current, PLANNER_TRACKS // 20))
    desired = [u for u in current if u not in gone] + uris[PLANNER_TRACKS:]
    rng.shuffle(desired)
    tags = {u: Tag(rng.random(), rng.random()) for u in current}
    replace_ms = median_ms(lambda: [desired[i : i + 100] for i in range(0, len(desired), 100)])
    return {
        "sync_keep_order_ms": median_ms(lambda: plan_sync(current, desired)),
        "sync_exact_order_ms": median_ms(lambda: plan_sync(current, desired, keep_order=False)),
        "sort_quadrant_ms": median_ms(lambda: plan_sort(current, tags, "quadrant")),
        "naive_replace_plan_ms": replace_ms,
    }


def main() -> None:
    rng = random.Random(SEED)
    n_tracks = N_PLAYLISTS * PER_PLAYLIST
    with tempfile.TemporaryDirectory() as tmp, start_emulator(n_sample_tracks=n_tracks) as emu:
        token = Path(tmp) / "token.json"
        redirect = f"http://127.0.0.1:{free_port()}/callback"
        login(
            "bench",
            redirect,
            token,
            api_url=emu.url,
            open_url=headless_open_url,
            show=lambda _: None,
        )
        client = make_client("bench", redirect, token, api_url=emu.url)
        before, after = desired_lists(emu.sample_track_ids(), rng)

        names = [f"emotune bench {k}" for k in range(N_PLAYLISTS)]
        known: dict[str, KnownPlaylist] = {}
        smart = {
            "from_empty": smart_round(client, emu, names, before, known),
            "after_5pct_change": smart_round(client, emu, names, after, known),
            "nothing_changed": smart_round(client, emu, names, after, known),
        }
        for name, pid in ((n, known[n].playlist_id) for n in names):
            assert emu.playlist_uris(pid) == list(known[name].uris), "sync diverged"

        naive_ids = [client.create_playlist(f"naive bench {k}").id for k in range(N_PLAYLISTS)]
        naive = {
            "from_empty": naive_round(client, emu, naive_ids, before),
            "after_5pct_change": naive_round(client, emu, naive_ids, after),
            "nothing_changed": naive_round(client, emu, naive_ids, after),
        }
    planner = planner_figures(rng)

    print(
        f"synthetic sample library; {N_PLAYLISTS} playlists x {PER_PLAYLIST} tracks, "
        f"{CHANGE_SHARE:.0%} of tags changed in round 2"
    )
    print(f"{'round':20} {'emotune r/w (items)':>22} {'bound issue/api':>16} {'naive r/w':>12}")
    ratios = {}
    for key in smart:
        s, n = smart[key], naive[key]
        lb = f"{s['lower_bound_issue']}/{s['lower_bound_api']}"
        print(
            f"{key:20} {s['read']:>7}/{s['write']:<4} ({s['item_writes']:>4}) {lb:>16} "
            f"{n['read']:>6}/{n['write']:<5}"
        )
        ratios[key] = {
            "item_writes_vs_bound_issue": (
                round(s["item_writes"] / s["lower_bound_issue"], 3)
                if s["lower_bound_issue"]
                else None
            ),
            "item_writes_vs_bound_api": (
                round(s["item_writes"] / s["lower_bound_api"], 3) if s["lower_bound_api"] else None
            ),
            "writes_vs_naive": round(s["item_writes"] / n["item_writes"], 3),
        }
        print(f"{'':20} ratios: {ratios[key]}")
    print(
        f"planner, {PLANNER_TRACKS} tracks, median of {RUNS}: sync (keep order) "
        f"{planner['sync_keep_order_ms']:.1f} ms, sync (exact order) "
        f"{planner['sync_exact_order_ms']:.1f} ms, sort by quadrant "
        f"{planner['sort_quadrant_ms']:.1f} ms; naive replace plan "
        f"{planner['naive_replace_plan_ms']:.2f} ms (goal < 100 ms)"
    )
    goals = {
        "zero_writes_when_unchanged": smart["nothing_changed"]["write"] == 0,
        "item_writes_within_1.1x_api_bound_after_change": (
            smart["after_5pct_change"]["item_writes"]
            <= 1.1 * smart["after_5pct_change"]["lower_bound_api"]
        ),
        "item_writes_within_1.1x_issue_bound_after_change": (
            smart["after_5pct_change"]["item_writes"]
            <= 1.1 * smart["after_5pct_change"]["lower_bound_issue"]
        ),
        "planner_under_100ms": planner["sync_keep_order_ms"] < 100,
    }
    print(f"goals: {goals}")
    print(
        json.dumps(
            {
                "benchmark": "bench_sync",
                "data": "synthetic sample library",
                "playlists": N_PLAYLISTS,
                "tracks_per_playlist": PER_PLAYLIST,
                "emotune": smart,
                "naive_replace_baseline": naive,
                "ratios": ratios,
                "planner_ms": {k: round(v, 2) for k, v in planner.items()},
                "goals_met": goals,
            }
        )
    )


if __name__ == "__main__":
    main()
