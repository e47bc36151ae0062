"""emotune's Last.fm client (pylast underneath) against real HTTPS servers on 127.0.0.1:
published Last.fm response bodies served byte for byte, and the local Last.fm emulator."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from playlists.emulator.library import generate_sample_library
from playlists.lastfm import LastfmClient, LastfmError, LastfmUnavailable
from playlists.lastfm_emulator import SANDBOX_API_KEY, start_lastfm_emulator
from playlists.music_mood import load_lexicon, music_position

BODIES = Path(__file__).parents[1] / "data" / "lastfm-bodies"
SECRET_KEY = "0123456789abcdef-not-a-real-key"


class BodyServer:
    """An HTTPS server answering each POST with the next (status, body) in its script."""

    def __init__(self, tmp: Path) -> None:
        import trustme

        self.script: list[tuple[int, bytes]] = []
        self.requests: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.requests.append(body.decode())
                status, data = outer.script.pop(0) if outer.script else (500, b"")
                self.send_response(status)
                self.send_header("Content-Type", "text/xml; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        ca = trustme.CA()
        self.ca_file = str(tmp / "ca.pem")
        ca.cert_pem.write_to_path(self.ca_file)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}/2.0/"

    def serve(self, *names: str, status: int = 200) -> None:
        self.script += [(status, (BODIES / n).read_bytes()) for n in names]

    def client(self, **kw: object) -> LastfmClient:
        return LastfmClient(SECRET_KEY, api_url=self.url, ca_file=self.ca_file, **kw)  # type: ignore[arg-type]


@pytest.fixture
def bodies(tmp_path: Path) -> Iterator[BodyServer]:
    s = BodyServer(tmp_path)
    yield s
    s.server.shutdown()
    s.server.server_close()


def test_pylast_reads_the_published_gettoptags_body(bodies: BodyServer) -> None:
    bodies.serve("track-gettoptags-cher-believe.xml")
    client = bodies.client(min_interval_s=0)
    assert client.track_top_tags("Cher", "Believe") == (("pop", 97), ("dance", 88))
    request = bodies.requests[0]
    assert "method=track.getTopTags" in request and "artist=Cher" in request
    assert "track=Believe" in request
    # neither genre tag is a mood: no position, and that is not an error
    assert music_position([("pop", 97), ("dance", 88)], load_lexicon()) is None


def test_error_6_is_no_tags_and_falls_back_to_the_artist(bodies: BodyServer) -> None:
    bodies.serve("error-6-track-not-found.xml", "track-gettoptags-cher-believe.xml")
    result = bodies.client(min_interval_s=0).top_tags("Cher", "No Such Song")
    assert result.source == "artist" and result.tags == (("pop", 97), ("dance", 88))
    assert "method=artist.getTopTags" in bodies.requests[1]


def test_error_10_is_one_line_naming_the_key_setting_and_never_the_key(bodies: BodyServer) -> None:
    bodies.serve("error-10-invalid-api-key.xml", status=403)
    with pytest.raises(LastfmError) as err:
        bodies.client(min_interval_s=0).track_top_tags("Cher", "Believe")
    message = str(err.value)
    assert "error 10" in message and "LASTFM_API_KEY" in message
    assert SECRET_KEY not in message and "\n" not in message


def test_error_29_is_waited_out_then_the_answer_used(bodies: BodyServer) -> None:
    bodies.serve("error-29-rate-limit.xml", "error-29-rate-limit.xml", status=429)
    bodies.serve("track-gettoptags-cher-believe.xml")
    waits: list[float] = []
    client = bodies.client(min_interval_s=0, sleep=waits.append, backoff_s=1.0)
    assert client.track_top_tags("Cher", "Believe") == (("pop", 97), ("dance", 88))
    assert waits == [1.0, 2.0] and client.counts.rate_limited == 2
    assert client.counts.requests == 3


def test_error_29_that_never_ends_is_reported_not_waited_forever(bodies: BodyServer) -> None:
    bodies.serve(*["error-29-rate-limit.xml"] * 10, status=429)
    waits: list[float] = []
    client = bodies.client(min_interval_s=0, sleep=waits.append, max_rate_wait_s=10)
    with pytest.raises(LastfmUnavailable, match="error 29"):
        client.track_top_tags("Cher", "Believe")
    assert sum(waits) <= 10


def test_http_5xx_is_retried_then_reported(bodies: BodyServer) -> None:
    bodies.script += [(503, b"<html>down</html>")] * 2
    bodies.serve("track-gettoptags-cher-believe.xml")
    waits: list[float] = []
    client = bodies.client(min_interval_s=0, sleep=waits.append)
    assert client.track_top_tags("Cher", "Believe")
    assert client.counts.retried == 2 and waits == [1.0, 2.0]
    bodies.script += [(502, b"")] * 5
    with pytest.raises(LastfmUnavailable, match="try again later") as err:
        client.track_top_tags("Cher", "Believe")
    assert "\n" not in str(err.value)


def test_lastfm_down_is_one_line_after_retries(tmp_path: Path) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here
    client = LastfmClient(SECRET_KEY, api_url=f"https://127.0.0.1:{port}", sleep=lambda _s: None)
    with pytest.raises(LastfmUnavailable, match="cannot be reached") as err:
        client.track_top_tags("Cher", "Believe")
    assert client.counts.requests == 4 and SECRET_KEY not in str(err.value)


def test_no_key_and_a_plain_http_url_are_refused_with_the_next_step() -> None:
    with pytest.raises(LastfmError, match="LASTFM_API_KEY"):
        LastfmClient("  ")
    with pytest.raises(LastfmError, match="https"):
        LastfmClient("k", api_url="http://127.0.0.1:1").track_top_tags("a", "b")


@pytest.fixture
def fm() -> Iterator:
    with start_lastfm_emulator(n_sample_tracks=60) as handle:
        yield handle


def emulator_client(fm, **kw: object) -> LastfmClient:
    return LastfmClient(SANDBOX_API_KEY, api_url=fm.url, ca_file=fm.ca_file, **kw)  # type: ignore[arg-type]


def test_emulator_tags_carry_each_tracks_scripted_mood(fm) -> None:
    lex = load_lexicon()
    client = emulator_client(fm, min_interval_s=0)
    useful = lambda tags: music_position(tags, lex) is not None  # noqa: E731
    kinds = {"track": 0, "artist": 0}
    agree = 0
    library = generate_sample_library(60)
    for track in library:
        result = client.top_tags(track.artists[0][1], track.name, useful)
        assert result.source in ("track", "artist")  # every sample track has some mood
        kinds[result.source] += 1
        pos = music_position(result.tags, lex, source=result.source)
        assert pos is not None
        q = ("happy" if pos.arousal > 0.5 else "calm") if pos.valence > 0.5 else (
            "tense" if pos.arousal > 0.5 else "sad")  # fmt: skip
        agree += q == fm.scripted_mood(track.uri)
        if fm.kind(track.uri) != "track":
            assert result.source == "artist"
    assert kinds["track"] > 30 and kinds["artist"] > 5
    assert agree / len(library) > 0.7
    # an album's tracks share an artist: the artist was asked once, not per track
    artist_calls = [e for e in fm.world.log if e["method"] == "artist.gettoptags"]
    assert len(artist_calls) == len({e["artist"] for e in artist_calls})


def test_emulator_unknown_names_wrong_key_and_injected_errors(fm) -> None:
    client = emulator_client(fm, min_interval_s=0, sleep=lambda _s: None)
    assert client.top_tags("Nobody At All", "Nothing").source == "none"
    assert client.top_tags("", "Untitled").source == "none"  # no artist: nothing asked
    with pytest.raises(LastfmError, match="error 10"):
        LastfmClient("wrong-key", api_url=fm.url, ca_file=fm.ca_file).track_top_tags("a", "b")
    fm.inject_error(11, times=2)
    track = generate_sample_library(60)[5]
    client.track_top_tags(track.artists[0][1], track.name)
    assert client.counts.retried == 2


def test_calls_are_spaced_by_the_minimum_interval(fm) -> None:
    fm.set_rate_limit(3, window_s=0.5)  # the emulator answers 29 beyond 3 per 0.5 s
    client = emulator_client(fm, min_interval_s=0.2)
    started = time.monotonic()
    for _ in range(6):
        client.artist_top_tags(f"Artist {_}")
    elapsed = time.monotonic() - started
    assert elapsed >= 5 * 0.2 * 0.95
    assert client.counts.rate_limited == 0 and client.counts.requests == 6
