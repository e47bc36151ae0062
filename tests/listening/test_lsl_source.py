"""The EEG source against real LSL outlets on loopback, each in its own process."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from classifier.errors import ClassifierError
from classifier.lsl_source import EEGSource, RingBuffer, detect_clock
from tests.listening.lsl_helpers import (
    counter_outlet,
    data_port,
    lsl_config_on_one_port,
    unique_source_id,
)
from tests.waiting import wait_for


@pytest.mark.parametrize("lsl_time", [False, True], ids=["time.time stamps", "--lsltime stamps"])
def test_every_sample_arrives_in_order_on_the_unix_clock(lsl_time: bool) -> None:
    with (
        counter_outlet(lsl_time=lsl_time) as source_id,
        EEGSource(source_id=source_id, resolve_timeout_s=10) as source,
    ):
        assert source.description.channel_labels == ("TP9", "AF7", "AF8", "TP10", "Right AUX")
        assert wait_for(lambda: source.buffer.written >= 3 * 256, 10)
        samples, stamps, _, lost = source.buffer.read_since(0)
        now = time.time()
    counter = samples[:, 4]
    assert lost == 0
    np.testing.assert_array_equal(np.diff(counter), 1)  # nothing lost or reordered
    assert source.status.clock == ("lsl" if lsl_time else "unix")
    assert abs(stamps[-1] - now) < 1.0  # converted to Unix seconds either way
    assert np.all(np.diff(stamps) > 0)
    assert np.median(np.diff(stamps)) == pytest.approx(1 / 256, rel=0.05)


def test_outlet_killed_and_restarted_records_a_gap_and_resumes() -> None:
    source_id = unique_source_id()
    source = EEGSource(source_id=source_id, resolve_timeout_s=10, gap_after_s=1.0)
    with counter_outlet(source_id=source_id):
        source.connect()
        assert wait_for(lambda: source.buffer.written >= 256, 10)
    before = source.buffer.written
    assert wait_for(lambda: len(source.snapshot_status().gaps) == 1, 10)
    assert not source.snapshot_status().connected
    with counter_outlet(source_id=source_id):
        assert wait_for(lambda: source.buffer.written >= before + 256, 20)
        status = source.snapshot_status()
    source.close()
    [gap] = status.gaps
    assert gap.ended_at is not None and gap.ended_at > gap.started_at
    assert status.reconnects == 1 and status.connected
    # While the stream was up after the restart, the counter runs on without holes.
    samples, _, _, _ = source.buffer.read_since(before)
    np.testing.assert_array_equal(np.diff(samples[:, 4]), 1)


def test_a_sender_lost_while_the_inlet_opens_is_looked_for_again() -> None:
    """A sender shutting down still answers the resolve, then is lost while the inlet opens
    (LostError or a timeout from liblsl). The reader must outlive that and find the stream
    when it is really back. The dying sender is a real outlet's info, resolved while it was
    up and handed to the reconnect after its process was killed."""
    from classifier.lsl_discovery import import_pylsl

    pylsl = import_pylsl()
    source_id = unique_source_id()
    source = EEGSource(source_id=source_id, resolve_timeout_s=10, gap_after_s=1.0)
    with counter_outlet(source_id=source_id):
        source.connect()
        [dying] = pylsl.resolve_bypred(f"source_id='{source_id}'", minimum=1, timeout=10)
        assert wait_for(lambda: source.buffer.written >= 256, 10)
    before = source.buffer.written
    try:
        source._resolve = lambda timeout_s: dying  # every reconnect meets the dying sender
        assert wait_for(lambda: len(source.snapshot_status().gaps) == 1, 10)
        time.sleep(6.0)  # long enough for a few reconnects to open an inlet on it and fail
        assert source._thread.is_alive()
        del source._resolve  # the sender is really back: resolves find it again
        with counter_outlet(source_id=source_id):
            # A generous bound: it only bounds a failure, and the wait ends as soon as the
            # samples come. (This test failed in CI when another worker's outlet took the
            # dying sender's port and the reader adopted it: see the next test.)
            assert wait_for(lambda: source.buffer.written >= before + 256, 60)
            status = source.snapshot_status()
    finally:
        source.close()
    [gap] = status.gaps
    assert status.reconnects == 1 and gap.ended_at is not None


def test_a_dead_senders_port_taken_by_another_stream_is_not_followed(tmp_path: Path) -> None:
    """liblsl reaches an outlet by host and port, and answers a description request from
    whatever outlet holds the port now. A restarting sender answers a reconnect's resolve,
    dies before the inlet opens, and another stream takes its port: the reader must not
    adopt that stream (nor then look only for the other's source id); it waits for its own.
    The dying sender and the newcomer are allowed one and the same port, so the newcomer
    takes the dead one's every time."""
    from classifier.lsl_discovery import import_pylsl

    pylsl = import_pylsl()
    one_port = lsl_config_on_one_port(tmp_path / "lsl_api.cfg")
    own_id, other_id = unique_source_id(), unique_source_id()
    source = EEGSource(source_id=own_id, resolve_timeout_s=10, gap_after_s=1.0)
    try:
        with counter_outlet(source_id=own_id):
            source.connect()
            assert wait_for(lambda: source.buffer.written >= 256, 10)
        before = source.buffer.written
        assert wait_for(lambda: len(source.snapshot_status().gaps) == 1, 10)
        # The restarting sender is only resolved, never connected to: a closed connection
        # would hold its port in TIME_WAIT, and the newcomer would get another. So the
        # reader's resolves find nothing until a look-up already under way has ended.
        looked: list[float] = []
        source._resolve = lambda timeout_s: looked.append(timeout_s)
        assert wait_for(lambda: len(looked) >= 1, 10)
        with counter_outlet(source_id=own_id, lsl_config=one_port):
            [dead] = pylsl.resolve_bypred(f"source_id='{own_id}'", minimum=1, timeout=10)
        with counter_outlet(source_id=other_id, lsl_config=one_port):
            [other] = pylsl.resolve_bypred(f"source_id='{other_id}'", minimum=1, timeout=10)
            assert data_port(other) == data_port(dead)  # the newcomer serves on the dead port
            source._resolve = lambda timeout_s: dead  # every reconnect meets the dead info
            time.sleep(4.0)  # several reconnects open an inlet on the dead info meanwhile
            assert source.description.source_id == own_id
            assert source.buffer.written == before and source.snapshot_status().reconnects == 0
            del source._resolve  # resolves are real again: they must look for our own id
            with counter_outlet(source_id=own_id):
                assert wait_for(lambda: source.buffer.written >= before + 256, 30)
                status = source.snapshot_status()
    finally:
        source.close()
    assert source.description.source_id == own_id and status.reconnects == 1
    samples, _, _, _ = source.buffer.read_since(before)
    np.testing.assert_array_equal(np.diff(samples[:, 4]), 1)  # one outlet's counter: ours


def test_four_channel_stream_is_accepted() -> None:
    with (
        counter_outlet(n_channels=4) as source_id,
        EEGSource(source_id=source_id, resolve_timeout_s=10) as source,
    ):
        assert source.description.channel_count == 4
        assert wait_for(lambda: source.buffer.written >= 128, 10)


@pytest.mark.parametrize(
    "kwargs, message",
    [({"n_channels": 8}, "has 8 channels"), ({"rate_hz": 128.0}, "runs at 128 Hz")],
)
def test_wrong_stream_is_refused_naming_what_was_found(kwargs, message: str) -> None:
    with counter_outlet(**kwargs) as source_id, pytest.raises(ClassifierError, match=message):
        EEGSource(source_id=source_id, resolve_timeout_s=10).connect()


def test_no_stream_says_what_to_start() -> None:
    with pytest.raises(ClassifierError, match="muselsl stream"):
        EEGSource(name="NoSuchStream", resolve_timeout_s=0.5).connect()


def test_ring_buffer_wraps_and_counts_overrun() -> None:
    buf = RingBuffer(capacity=10, n_channels=1)
    buf.push(np.arange(7.0)[:, None], np.arange(7.0))
    data, stamps, nxt, lost = buf.read_since(0)
    assert data[:, 0].tolist() == list(range(7)) and nxt == 7 and lost == 0
    buf.push(np.arange(7.0, 20.0)[:, None], np.arange(7.0, 20.0))  # more than fits
    data, stamps, nxt, lost = buf.read_since(7)
    assert data[:, 0].tolist() == list(range(10, 20)) and lost == 3 and nxt == 20
    assert stamps.tolist() == list(range(10, 20))


def test_clock_detection() -> None:
    assert detect_clock(1_800_000_000.0, unix_now=1_800_000_000.5, lsl_now=5_000.0) == "unix"
    assert detect_clock(5_000.2, unix_now=1_800_000_000.5, lsl_now=5_000.0) == "lsl"
