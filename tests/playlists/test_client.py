"""spotipy over real HTTP against the local emulator: login, paging, rules, player, faults."""

from __future__ import annotations

import stat
import time
import urllib.request
from pathlib import Path

import pytest

from playlists.client import (
    RetryPolicy,
    make_client,
    parse_playback,
    parse_playlist_item,
    playlist_id_from,
)
from playlists.emulator import start_emulator
from playlists.errors import PlaylistsError
from tests.playlists.helpers import CLIENT_ID, logged_in_client, redirect_uri

FAST = RetryPolicy(max_retry_after_s=2, max_total_wait_s=3, max_retries=3, backoff_s=0.01)


@pytest.fixture
def emu():
    with start_emulator(speed=1.0) as handle:
        yield handle


@pytest.fixture
def client(emu, tmp_path: Path):
    return logged_in_client(emu, tmp_path / "token.json", policy=FAST)


def uris(emu, a: int, b: int) -> list[str]:
    return [f"spotify:track:{i}" for i in emu.sample_track_ids()[a:b]]


def test_login_saves_a_private_token_and_checks_pkce(emu, tmp_path: Path) -> None:
    token = tmp_path / "cfg" / "token.json"
    client = logged_in_client(emu, token)
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert client.me()["id"] == "emulator-user"
    # The emulator refuses a code exchanged with the wrong verifier (PKCE is really checked).
    req = urllib.request.Request(
        f"{emu.url}/api/token",
        data=b"grant_type=authorization_code&code=nope&code_verifier=x&redirect_uri=y",
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req)
    assert err.value.code == 400


def test_login_callback_rejects_a_wrong_state(emu, tmp_path: Path) -> None:
    from playlists.client import login

    def tamper(url: str) -> None:  # follow the approval but swap the state on the way back
        import re

        import requests

        answer = requests.get(url, allow_redirects=False, timeout=5).headers["Location"]
        requests.get(re.sub(r"state=[^&]+", "state=forged", answer), timeout=5)

    with pytest.raises(PlaylistsError, match="state"):
        login(
            CLIENT_ID,
            redirect_uri(),
            tmp_path / "t.json",
            api_url=emu.url,
            open_url=tamper,
            show=lambda _: None,
            timeout_s=5,
        )
    assert not (tmp_path / "t.json").exists()


def test_missing_token_says_run_login(emu, tmp_path: Path) -> None:
    with pytest.raises(PlaylistsError, match="emotune login"):
        make_client(CLIENT_ID, redirect_uri(), tmp_path / "absent.json", api_url=emu.url)


def test_reads_page_at_50_and_writes_batch_at_100(emu, client) -> None:
    pl = client.create_playlist("paging test")
    with pytest.raises(ValueError):
        client.add_items(pl.id, uris(emu, 0, 101))
    for start in (0, 100):
        client.add_items(pl.id, uris(emu, start, start + 100))
    client.add_items(pl.id, uris(emu, 200, 230))
    emu.clear_log()
    items = client.playlist_items(pl.id)
    assert [i.uri for i in items] == uris(emu, 0, 230)
    pages = [e for e in emu.exchanges() if e.path.endswith("/items")]
    assert len(pages) == 5 and all("limit=50" in e.query for e in pages)


def test_items_of_someone_elses_playlist_are_a_clear_error(emu, client) -> None:
    friend = emu.friend_playlist_ids()
    owned_by_friend = next(p for p in friend if not emu.playlist(p).collaborative)
    with pytest.raises(PlaylistsError, match="you do not own this playlist"):
        client.playlist_items(owned_by_friend)
    shared = next(p for p in friend if emu.playlist(p).collaborative)
    assert len(client.playlist_items(shared)) == 15  # a collaborator may read


def test_player_follows_wall_clock_time_times_speed(tmp_path: Path) -> None:
    speed = 10.0
    with start_emulator(speed=speed, tracks=[]) as emu:
        short = emu.add_tracks([2000, 30_000])
        client = logged_in_client(emu, tmp_path / "t.json")
        assert client.playback_state() is None
        t0 = time.time()
        client.start_playback([f"spotify:track:{i}" for i in short])
        t1 = time.time()

        def progress_bounds(state) -> tuple[float, float]:
            """Track time since play, from the server's timestamp, given play began in [t0, t1]."""
            now = state.timestamp_ms / 1000
            return (now - t1) * speed * 1000 - 1, (now - t0) * speed * 1000 + 1

        state = client.playback_state()
        low, high = progress_bounds(state)
        assert state.is_playing and state.track_id == short[0]
        assert low <= state.progress_ms <= high
        assert abs(state.timestamp_ms - time.time() * 1000) < 1000
        time.sleep(0.3)  # 3 s of player time: 1 s into the second track
        state = client.playback_state()
        low, high = progress_bounds(state)
        assert state.track_id == short[1] and state.duration_ms == 30_000
        assert low - 2000 <= state.progress_ms <= high - 2000
        client.pause()
        paused = client.playback_state()
        time.sleep(0.05)
        assert client.playback_state().progress_ms == paused.progress_ms
        assert not paused.is_playing


def test_queue_next_and_device_errors(emu, client) -> None:
    a, b, c = uris(emu, 0, 3)
    client.start_playback([a])
    client.add_to_queue(c)
    client.add_to_queue(b)
    client.next_track()
    assert client.playback_state().uri == c
    assert [d.is_active for d in client.devices()] == [True]
    emu.set_device(active=False)
    with pytest.raises(PlaylistsError, match="no active device"):
        client.add_to_queue(a)
    emu.set_device(active=True)
    emu.set_premium(False)
    with pytest.raises(PlaylistsError, match="Premium"):
        client.start_playback([a])


def test_429_honours_retry_after_then_gives_up_naming_the_wait(emu, client) -> None:
    slept: list[float] = []
    client.sleep = slept.append
    emu.inject_fault("429", times=2, retry_after_s=1)
    assert client.me()["id"] == "emulator-user"
    assert slept == [1.0, 1.0]
    emu.inject_fault("429", times=1, retry_after_s=120)
    with pytest.raises(PlaylistsError, match="wait 120 s"):
        client.me()


def test_5xx_and_slow_responses_retry_a_bounded_number_of_times(emu, tmp_path) -> None:
    policy = RetryPolicy(max_retries=2, backoff_s=0.01, timeout_s=0.5)
    client = logged_in_client(emu, tmp_path / "t.json", policy=policy)
    emu.inject_fault("500", times=2)
    assert client.me()["id"] == "emulator-user"
    emu.inject_fault("503", times=3)
    emu.clear_log()
    with pytest.raises(PlaylistsError, match="HTTP 503 3 times"):
        client.me()
    assert len(emu.exchanges()) == 3  # our bounded retries only; spotipy/urllib3 add none
    emu.inject_fault("slow", delay_s=1.0, times=1)
    assert client.me()["id"] == "emulator-user"  # the timed-out request was retried
    emu.inject_fault("slow", delay_s=1.0, times=3)
    with pytest.raises(PlaylistsError, match="timed out 3 times"):
        client.me()
    # The client has given up; the server still answers each request when its delay ends.
    given_up = len(emu.exchanges())
    emu.wait_until_answered(timeout_s=10)
    assert len(emu.exchanges()) - given_up >= 1 and emu.server.in_flight == 0


def test_expired_token_is_refreshed_once(emu, client) -> None:
    emu.expire_tokens()
    assert client.me()["id"] == "emulator-user"
    tokens = [e for e in emu.exchanges() if e.path == "/api/token"]
    assert len(tokens) == 2  # the login, then exactly one refresh


def test_tolerant_parsing_of_real_bodies() -> None:
    local = {
        "is_local": True,
        "track": {"id": None, "uri": "spotify:local:A:B:C:200", "type": "track", "name": "C"},
    }
    assert parse_playlist_item(local).track_id is None
    assert parse_playlist_item(local).uri == "spotify:local:A:B:C:200"
    episode = {"item": {"type": "episode", "id": "e" * 22, "uri": "spotify:episode:x", "show": {}}}
    assert parse_playlist_item(episode).item_type == "episode"
    assert parse_playlist_item(episode).track_id is None
    assert parse_playlist_item({"track": None}).uri is None
    assert parse_playlist_item(None).item_type == "unknown"
    ad = parse_playback({"is_playing": True, "currently_playing_type": "ad", "item": None})
    assert ad.item_type == "ad" and ad.track_id is None and ad.duration_ms is None
    assert parse_playback(None) is None


def test_playlist_id_from_url_uri_or_id() -> None:
    pid = "37i9dQZF1DXcBWIGoYBM5M"
    for text in (pid, f"spotify:playlist:{pid}", f"https://open.spotify.com/playlist/{pid}?si=x"):
        assert playlist_id_from(text) == pid
    with pytest.raises(PlaylistsError, match="not a playlist"):
        playlist_id_from("https://example.com/x")


def test_episodes_in_playlists_and_ads_in_the_player(emu, client) -> None:
    [episode] = emu.add_episodes([60_000])
    tracks = uris(emu, 0, 2)
    pid = emu.make_playlist("mixed", [tracks[0], f"spotify:episode:{episode}", tracks[1]])
    items = client.playlist_items(pid)
    assert [i.item_type for i in items] == ["track", "episode", "track"]
    assert items[1].track_id is None and items[1].artists == ("Sample Show",)
    client.start_playback(tracks[:1])
    emu.queue_ad(5_000)
    client.next_track()
    ad = client.playback_state()
    assert ad.item_type == "ad" and ad.track_id is None and ad.uri is None and ad.is_playing


def test_a_rolling_window_rate_limit_is_waited_out(tmp_path) -> None:
    with start_emulator(rate_limit=(3, 1.0)) as emu:
        client = logged_in_client(emu, tmp_path / "t.json", policy=FAST)
        t0 = time.monotonic()
        for _ in range(5):
            assert client.me()["id"] == "emulator-user"
        assert 0.9 < time.monotonic() - t0 < 4.0
        assert any(e.status == 429 for e in emu.exchanges())


def test_no_browser_prints_the_url_and_the_callback_server_stops_after_one_answer(
    emu, tmp_path: Path
) -> None:
    import socket
    import threading
    from urllib.parse import urlsplit

    from playlists.client import headless_open_url, login

    shown: list[str] = []
    uri = redirect_uri()
    done: dict = {}
    worker = threading.Thread(
        target=lambda: done.update(
            me=login(
                CLIENT_ID,
                uri,
                tmp_path / "t.json",
                api_url=emu.url,
                no_browser=True,
                show=shown.append,
                timeout_s=10,
            )
        )
    )
    worker.start()
    deadline = time.monotonic() + 5
    while not shown and time.monotonic() < deadline:
        time.sleep(0.01)
    url = shown[0].splitlines()[-1]
    assert url.startswith(f"{emu.url}/authorize?") and "code_challenge_method=S256" in url
    headless_open_url(url)  # the user opens it; the emulator approves at once
    worker.join(timeout=10)
    assert done["me"]["id"] == "emulator-user"
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", urlsplit(uri).port), 1):
        pass  # the callback server is gone
