"""Raw session EEG: spool -> FIF that MNE reads back exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.raw_store import RawSpool, finalize_spool, read_fif, read_spool

LABELS = ("TP9", "AF7", "AF8", "TP10", "Right AUX")


def test_spool_to_fif_round_trip_with_gap(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    t0 = 1_800_000_000.0
    first = np.arange(512) / 256.0 + t0
    second = np.arange(256) / 256.0 + t0 + 10.0  # after an 8 s gap
    stamps = np.concatenate([first, second])
    samples = rng.normal(0, 20, size=(len(stamps), 5))
    spool = tmp_path / "session-1.spool"
    writer = RawSpool(spool, LABELS, 256.0)
    writer.append(samples[:100], stamps[:100])
    writer.append(samples[100:], stamps[100:])
    writer.close()
    # A crash mid-write leaves a torn row: it is ignored.
    with spool.open("ab") as fh:
        fh.write(b"\x00" * 13)
    assert len(read_spool(spool).samples) == len(stamps)

    fif = finalize_spool(spool, tmp_path / "session-1_raw.fif")
    assert not spool.exists()
    back = read_fif(fif)
    assert back.channel_labels == LABELS
    np.testing.assert_allclose(back.timestamps, stamps, rtol=0, atol=1e-6)
    np.testing.assert_allclose(back.samples, samples, rtol=1e-6, atol=1e-6)

    import mne

    raw = mne.io.read_raw_fif(fif, verbose="error")
    assert list(raw.annotations.description) == ["BAD_gap"]
    seg = back.segment(t0 + 10.0, t0 + 10.5)
    assert len(seg.samples) == 128
