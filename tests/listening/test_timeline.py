"""The playback timeline on scripted polls (pure; no player needed)."""

from __future__ import annotations

from app.timeline import Placement, PlaybackTimeline, PlayerSnapshot

T0 = 1_800_000_000.0


def snap(t: float, track: str | None, progress_s: float = 0.0, playing: bool = True, **kw):
    return PlayerSnapshot(
        at=T0 + t,
        is_playing=playing,
        item_type=kw.pop("item_type", "track" if track else None),
        track_id=track,
        uri=f"spotify:track:{track}" if track else None,
        duration_ms=kw.pop("duration_ms", 30_000),
        progress_ms=int(progress_s * 1000) if track or kw.get("item_type") else None,
        **kw,
    )


def play(timeline: PlaybackTimeline, track: str, t_from: int, t_to: int, offset_s: float = 0.0):
    events = []
    for t in range(t_from, t_to + 1):
        events += timeline.observe(snap(t, track, progress_s=t - t_from + offset_s))
    return events


def test_two_tracks_make_two_listens_and_windows_align() -> None:
    tl = PlaybackTimeline()
    events = play(tl, "A", 0, 29, offset_s=0.5) + play(tl, "B", 30, 50, offset_s=0.5)
    events += tl.close(T0 + 51)
    kinds = [(e.kind, e.listen.track.track_id) for e in events]
    assert kinds == [
        ("listen_started", "A"),
        ("listen_ended", "A"),
        ("listen_started", "B"),
        ("listen_ended", "B"),
    ]
    a, b = tl.listens
    assert a.completed and not a.skipped
    assert not b.completed  # stopped at 21 s of 30
    assert tl.locate(T0 + 5, T0 + 9) == (Placement.INSIDE, a)
    assert tl.locate(T0 + 35, T0 + 39) == (Placement.INSIDE, b)
    placement, listen = tl.locate(T0 + 28, T0 + 32)  # across the change of track
    assert placement is Placement.TRANSITION
    assert tl.locate(T0 + 48, T0 + 52)[0] is Placement.PENDING  # beyond the last poll


def test_pause_splits_segments_and_counts_paused_time() -> None:
    tl = PlaybackTimeline()
    for t in range(0, 10):
        tl.observe(snap(t, "A", progress_s=t))
    for t in range(10, 15):
        tl.observe(snap(t, "A", progress_s=9, playing=False))
    for t in range(15, 25):
        tl.observe(snap(t, "A", progress_s=9 + (t - 14)))
    [listen] = tl.listens
    assert len(listen.segments) == 2
    assert 4.0 <= listen.paused_s <= 6.0
    assert tl.locate(T0 + 2, T0 + 6)[0] is Placement.INSIDE
    assert tl.locate(T0 + 8, T0 + 12)[0] is Placement.TRANSITION  # spans the pause
    assert tl.locate(T0 + 16, T0 + 20)[0] is Placement.INSIDE


def test_seek_splits_segment_but_not_listen() -> None:
    tl = PlaybackTimeline()
    for t in range(0, 10):
        tl.observe(snap(t, "A", progress_s=t, duration_ms=200_000))
    for t in range(10, 20):
        tl.observe(snap(t, "A", progress_s=60 + t, duration_ms=200_000))  # jumped ahead
    [listen] = tl.listens
    assert len(listen.segments) == 2
    assert tl.locate(T0 + 7, T0 + 11)[0] is Placement.TRANSITION


def test_skip_is_recorded() -> None:
    tl = PlaybackTimeline()
    play(tl, "A", 0, 8)
    play(tl, "B", 9, 12)
    assert tl.listens[0].skipped and not tl.listens[0].completed


def test_ads_episodes_and_local_files_are_not_listens() -> None:
    tl = PlaybackTimeline()
    for t in range(0, 5):
        tl.observe(snap(t, None, item_type="ad"))
    for t in range(5, 10):
        tl.observe(snap(t, "ep1", progress_s=t - 5, item_type="episode"))
    for t in range(10, 15):  # a local file: a track without an id
        tl.observe(PlayerSnapshot(at=T0 + t, is_playing=True, item_type="track", progress_ms=0))
    assert tl.listens == []
    assert tl.locate(T0 + 1, T0 + 4)[0] is Placement.OUTSIDE


def test_repeat_of_same_track_is_a_new_listen() -> None:
    tl = PlaybackTimeline()
    play(tl, "A", 0, 29)
    play(tl, "A", 30, 40)
    assert len(tl.listens) == 2 and tl.listens[0].completed


def test_faster_playback_rate_is_not_a_seek() -> None:
    tl = PlaybackTimeline(playback_rate=4.0)
    for t in range(0, 10):
        tl.observe(snap(t, "A", progress_s=4 * t, duration_ms=100_000))
    assert len(tl.listens[0].segments) == 1


def test_a_stored_edge_places_the_same_window_timed_a_rounding_apart_inside() -> None:
    """Batch and live time one window on lines fitted over different spans of stamps."""
    from app.timeline import EDGE_TOLERANCE_S, StoredListen, place_window

    listen = StoredListen(listen_id=7, segments=((T0 + 10.0, T0 + 24.0),))
    live_end = T0 + 24.0  # a killed listen is closed where its last live window ends
    batch_end = live_end + 2.4e-7  # the same window, from the batch's fit: a rounding later
    assert place_window(batch_end - 4.0, batch_end, [listen]) == (Placement.INSIDE, listen)
    assert place_window(T0 + 10.0 - 1e-6, T0 + 14.0, [listen]) == (Placement.INSIDE, listen)
    # The next window on the grid, a stride on, crosses the edge: partly playing.
    later = live_end + 0.25
    assert later - live_end > EDGE_TOLERANCE_S
    assert place_window(later - 4.0, later, [listen]) == (Placement.TRANSITION, listen)
    assert place_window(T0 + 30.0, T0 + 34.0, [listen]) == (Placement.OUTSIDE, None)
