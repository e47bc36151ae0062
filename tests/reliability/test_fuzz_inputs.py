"""Bad input, fuzzed with hypothesis: every parser answers with the project's own error.

Each target is fed text or bytes shaped like its real input and mutated; it must either
parse or raise ClassifierError / PlaylistsError / EmotuneError (subclasses included) with a
one-line message, never anything else. Examples stay modest (this runs in `make test`).
"""

from __future__ import annotations

import io
import os
import pickle
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import EmotuneError
from classifier.errors import ClassifierError
from playlists.errors import PlaylistsError

OURS = (ClassifierError, PlaylistsError, EmotuneError)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FILE_FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


FUZZED: dict[str, int] = {}  # examples run per target
TMP = tempfile.TemporaryDirectory(prefix="emotune-fuzz-")
CHECKPOINT: dict[str, bytes] = {}


def fresh_dir() -> Path:
    """An empty folder per example (hypothesis runs many examples in one test)."""
    return Path(tempfile.mkdtemp(dir=TMP.name))


def fuzz(faults, name: str, inner) -> None:  # noqa: ANN001
    """Run a hypothesis target; every example is a bad input, survived if the test passes."""
    FUZZED[name] = 0
    inner()
    faults.inject(f"input: {name}", FUZZED[name])
    faults.survived()


def refused_cleanly(fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """Call fn; return its value, or None when it raised one of ours with a one-line message."""
    try:
        return fn(*args, **kwargs)
    except OURS as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        return None


def mutate(data: bytes, edits: list[tuple[int, int]], cut: int | None) -> bytes:
    """Overwrite bytes at positions (mod length), then maybe truncate."""
    buf = bytearray(data)
    for pos, value in edits:
        if buf:
            buf[pos % len(buf)] = value
    return bytes(buf[:cut] if cut is not None else buf)


EDITS = st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=6)
CUTS = st.none() | st.integers(0, 4000)

# --- text parsers ------------------------------------------------------------------------

PLAYLIST_TEXT = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda prefix, ident, tail: prefix + ident + tail,
        st.sampled_from(
            ["spotify:playlist:", "https://open.spotify.com/playlist/", "spotify:user:x:playlist:",
             "open.spotify.com/intl-de/playlist/", "", " "]
        ),
        st.text(alphabet=st.characters(codec="utf-8"), max_size=30),
        st.sampled_from(["", "?si=abc", "\n", " ", "/", "#x"]),
    ),
)  # fmt: skip


@FUZZ
@given(text=PLAYLIST_TEXT)
def _fuzz_playlist_id(text: str) -> None:
    from playlists.client import playlist_id_from

    FUZZED["playlist URL/URI/id"] += 1
    got = refused_cleanly(playlist_id_from, text)
    assert got is None or (got.isascii() and got.isalnum())


TRACK_TEXT = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda prefix, ident: prefix + ident,
        st.sampled_from(["spotify:track:", "https://open.spotify.com/track/", ""]),
        st.text(alphabet=st.characters(codec="utf-8"), min_size=20, max_size=24),
    ),
)


@FUZZ
@given(text=TRACK_TEXT)
def _fuzz_track_id(text: str) -> None:
    from app.jobs.reclassify import track_id_from

    FUZZED["track URI/URL/id"] += 1
    got = refused_cleanly(track_id_from, text)
    assert got is None or (len(got) == 22 and got.isascii() and got.isalnum())


RAVDESS_TEXT = st.one_of(
    st.text(max_size=40),
    st.lists(st.text(alphabet="0123456789", min_size=0, max_size=3), min_size=1, max_size=9).map(
        lambda parts: "-".join(parts) + ".wav"
    ),
)


@FUZZ
@given(name=RAVDESS_TEXT)
def _fuzz_ravdess(name: str) -> None:
    from classifier.voice.dataset import parse_ravdess_name

    FUZZED["RAVDESS file name"] += 1
    got = refused_cleanly(parse_ravdess_name, name)
    assert got is None or got.actor >= 1


# --- files ---------------------------------------------------------------------------------

GOOD_CSV = "timestamps,TP9,AF7,AF8,TP10,Right AUX\n" + "".join(
    f"{1_800_000_000 + i / 256:.6f},{i % 7}.5,-3.25,4.0,0.5,{i}\n" for i in range(40)
)


@FILE_FUZZ
@given(edits=EDITS, cut=CUTS, extra=st.binary(max_size=40))
def _fuzz_muselsl_csv(edits, cut, extra: bytes) -> None:
    tmp_path = fresh_dir()
    from classifier.datasets import read_muselsl_csv

    FUZZED["muselsl CSV"] += 1
    path = tmp_path / "rec.csv"
    path.write_bytes(mutate(GOOD_CSV.encode(), edits, cut) + extra)
    got = refused_cleanly(read_muselsl_csv, path)
    if got is not None:
        samples, stamps, labels = got
        assert samples.shape == (len(stamps), 4) and np.isfinite(samples).all()


GOOD_LABELS = "file,subject,valence,arousal\nrec.csv,s1,4,2\nrec.csv,s2,,5\n"


@FILE_FUZZ
@given(edits=EDITS, cut=st.none() | st.integers(0, 80), extra=st.binary(max_size=30))
def _fuzz_labels(edits, cut, extra: bytes) -> None:
    tmp_path = fresh_dir()
    from classifier.datasets import read_labels

    FUZZED["labels file"] += 1
    (tmp_path / "rec.csv").write_text(GOOD_CSV)
    path = tmp_path / "labels.csv"
    path.write_bytes(mutate(GOOD_LABELS.encode(), edits, cut) + extra)
    got = refused_cleanly(read_labels, path, tmp_path)
    if got is not None:
        assert all(r.valence is None or 1 <= r.valence <= 5 for r in got)


GOOD_CONFIG = b"""[database]
url = "sqlite:///x.db"
[spotify]
client_id = "abc"
redirect_uri = "http://127.0.0.1:8888/callback"
[eeg]
stream_name = "Muse"
line_noise_hz = 50.0
[listen]
min_windows = 10
"""
TOML_VALUES = st.sampled_from(
    ["inf", "-inf", "nan", "1e400", "[]", "{}", "{a = 1}", '"x"', "true", "-1", "0",
     "99999999999999999999999", "1979-05-27T07:32:00Z", '"""a\nb"""']
)  # fmt: skip


@FILE_FUZZ
@given(
    edits=EDITS,
    cut=st.none() | st.integers(0, 200),
    key=st.sampled_from(["line_noise_hz", "min_windows", "stream_name", "url", "client_id"]),
    value=TOML_VALUES,
)
def _fuzz_config(edits, cut, key: str, value: str) -> None:
    tmp_path = fresh_dir()
    from app.config import load_settings

    FUZZED["config file"] += 1
    text = GOOD_CONFIG.replace(
        next(line for line in GOOD_CONFIG.split(b"\n") if line.startswith(key.encode())),
        f"{key} = {value}".encode(),
    )
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_bytes(mutate(text, edits, cut))
    got = refused_cleanly(load_settings, {"EMOTUNE_HOME": str(home)})
    if got is not None:
        assert isinstance(got.min_windows_per_listen, int)
        assert isinstance(got.line_noise_hz, float)


# --- DREAMER .mat variants -----------------------------------------------------------------


def _dreamer_struct(n_subjects: int, n_trials: int, samples: int, channels: int, scores):
    """DREAMER.mat's nesting (as classifier.synthetic writes it) holding SYNTHETIC numbers."""
    rng = np.random.default_rng(0)
    data = np.empty((1, n_subjects), dtype=object)
    for s in range(n_subjects):
        subject = np.empty(
            (1, 1), dtype=[("EEG", "O"), ("ScoreValence", "O"), ("ScoreArousal", "O")]
        )
        eeg = np.empty((1, 1), dtype=[("baseline", "O"), ("stimuli", "O")])
        stimuli = np.empty((n_trials, 1), dtype=object)
        baseline = np.empty((n_trials, 1), dtype=object)
        for t in range(n_trials):
            stimuli[t, 0] = rng.normal(0, 10, size=(samples, channels))
            baseline[t, 0] = rng.normal(0, 10, size=(samples, channels))
        eeg[0, 0]["stimuli"] = stimuli
        eeg[0, 0]["baseline"] = baseline
        subject[0, 0]["EEG"] = eeg
        subject[0, 0]["ScoreValence"] = np.array(scores, dtype=object)
        subject[0, 0]["ScoreArousal"] = np.array(scores, dtype=object)
        data[0, s] = subject
    top = np.empty((1, 1), dtype=[("Data", "O")])
    top[0, 0]["Data"] = data
    return {"DREAMER": top}


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    n_subjects=st.integers(0, 2),
    n_trials=st.integers(0, 2),
    samples=st.sampled_from([0, 1, 64, 200]),
    channels=st.sampled_from([0, 3, 14]),
    scores=st.sampled_from([[3, 4], [0, 9], [np.nan, 2], ["a", "b"], [], [[1, 2], [3, 4]]]),
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=3),
)
def _fuzz_dreamer(n_subjects, n_trials, samples, channels, scores, edits) -> None:
    tmp_path = fresh_dir()
    import scipy.io as sio

    from classifier.datasets import check_dreamer_layout

    FUZZED["DREAMER .mat"] += 1
    buf = io.BytesIO()
    try:
        sio.savemat(buf, _dreamer_struct(n_subjects, n_trials, samples, channels, scores))
    except Exception:  # noqa: BLE001 - scipy cannot even write this shape: nothing to read
        return
    path = tmp_path / "DREAMER.mat"
    path.write_bytes(mutate(buf.getvalue(), edits, None))
    got = refused_cleanly(check_dreamer_layout, path)
    if got is not None:
        assert got[0] == n_subjects and got[1] == n_trials


def test_dreamer_loader_refuses_a_broken_file_before_torcheeg(tmp_path: Path, faults) -> None:
    import scipy.io as sio

    from classifier.datasets import load_dreamer

    path = tmp_path / "DREAMER.mat"
    sio.savemat(path, _dreamer_struct(1, 2, 200, 14, [0, 9]))  # ratings outside 1-5
    with pytest.raises(ClassifierError, match="ratings in 1-5"):
        load_dreamer(path)
    path.write_bytes(b"MATLAB 5.0 MAT-file" + os.urandom(200))
    with pytest.raises(ClassifierError, match="not a readable MATLAB file"):
        load_dreamer(path)
    faults.inject("input: DREAMER loader given broken files", 2)
    faults.survived()


# --- checkpoints ---------------------------------------------------------------------------


def good_checkpoint_bytes() -> bytes:
    from tests.factories import save_seeded_untrained_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        return save_seeded_untrained_checkpoint(Path(tmp) / "m.pt", "fuzz-seeded").read_bytes()


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(edits=EDITS, cut=st.none() | st.integers(0, 60_000))
def _fuzz_checkpoint(edits, cut) -> None:
    tmp_path = fresh_dir()
    good_checkpoint_bytes = CHECKPOINT["bytes"]
    from classifier.model import load_checkpoint

    FUZZED["corrupted checkpoint"] += 1
    path = tmp_path / "m.pt"
    path.write_bytes(mutate(good_checkpoint_bytes, edits, cut))
    got = refused_cleanly(load_checkpoint, path)
    if got is not None:  # bytes that do not matter were hit: it is still a valid checkpoint
        assert isinstance(got, dict) and got["channels"]


class _RunsCode:
    """A pickle payload that would run a shell command when unpickled."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.parametrize("how", ["torch.save", "plain pickle"])
def test_checkpoint_carrying_pickled_code_is_refused(tmp_path: Path, how: str, faults) -> None:
    import torch

    from classifier.model import load_checkpoint

    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.pt"
    payload = {"format": "emotune-eeg", "state_dict": _RunsCode(marker)}
    if how == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload))
    with pytest.raises(ClassifierError, match="refused|corrupted"):
        load_checkpoint(path)
    assert not marker.exists()
    faults.inject(f"input: checkpoint carrying pickled code ({how})")
    faults.survived()


@pytest.mark.parametrize("how", ["skops file", "old pickle file"])
def test_voice_model_file_carrying_code_is_refused(tmp_path: Path, how: str, faults) -> None:
    import skops.io

    from classifier.voice.errors import VoiceError
    from classifier.voice.models import VoiceModel, fit_voice_model

    marker = tmp_path / "code-ran"
    path = tmp_path / "evil.skops"
    if how == "skops file":  # a real (SYNTHETIC-feature) model with the trap beside it
        rng = np.random.default_rng(0)
        emotions = [("neutral", "happy", "sad", "angry")[i % 4] for i in range(64)]
        actors = [(i // 4) % 4 + 1 for i in range(64)]
        model = fit_voice_model(rng.normal(size=(64, 12)), emotions, actors, n_iter=1, folds=2)
        model.params = {"extra": _RunsCode(marker)}
        model.save(path)
        assert skops.io.get_untrusted_types(file=path)  # the trap is in the file
    else:
        path.write_bytes(pickle.dumps({"format": 1, "estimator": _RunsCode(marker)}))
    with pytest.raises(VoiceError, match="it was not loaded"):
        VoiceModel.load(path)
    assert not marker.exists()
    pickle.loads(pickle.dumps(_RunsCode(marker)))  # through pickle the same trap does run
    assert marker.exists()
    faults.inject(f"input: voice model file carrying code ({how})")
    faults.survived()


# --- the tests: one per input, each counted into the reliability ledger -----------------


def test_playlist_url_uri_or_id(faults) -> None:
    fuzz(faults, "playlist URL/URI/id", _fuzz_playlist_id)


def test_track_uri_url_or_id(faults) -> None:
    fuzz(faults, "track URI/URL/id", _fuzz_track_id)


def test_ravdess_file_name(faults) -> None:
    fuzz(faults, "RAVDESS file name", _fuzz_ravdess)


def test_muselsl_csv(faults) -> None:
    fuzz(faults, "muselsl CSV", _fuzz_muselsl_csv)


def test_labels_file(faults) -> None:
    fuzz(faults, "labels file", _fuzz_labels)


def test_config_file(faults) -> None:
    fuzz(faults, "config file", _fuzz_config)


def test_dreamer_layout(faults) -> None:
    fuzz(faults, "DREAMER .mat", _fuzz_dreamer)


def test_corrupted_checkpoint_is_refused(faults) -> None:
    CHECKPOINT["bytes"] = good_checkpoint_bytes()
    fuzz(faults, "corrupted checkpoint", _fuzz_checkpoint)
