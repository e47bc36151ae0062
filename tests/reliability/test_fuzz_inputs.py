"""Bad input, fuzzed with hypothesis: every parser answers with the project's own error.

Each target is fed text or bytes shaped like its real input and mutated (some examples stay
valid); it must either parse or raise ClassifierError / PlaylistsError / EmotuneError
(subclasses included) with a one-line message that names the file (or the link or name given)
and says what to do next, as the README promises. Examples stay modest (this runs in
`make test`). Fuzzed inputs are tallied apart from faults: `inputs_fuzzed` and
`inputs_rejected_cleanly` in the reliability JSON.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import EmotuneError
from classifier.errors import ClassifierError
from playlists.errors import PlaylistsError
from tests.reliability.conftest import FaultRecorder, FuzzRecord, Ledger

OURS = (ClassifierError, PlaylistsError, EmotuneError)
FUZZ = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
FILE_FUZZ = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


TALLY: dict[str, FuzzRecord] = {}  # the running target's tally, by target name
TMP = tempfile.TemporaryDirectory(prefix="emotune-fuzz-")
CHECKPOINT: dict[str, bytes] = {}

# A next step: an instruction after the problem ("...; copy the link from ...", "...: give
# spotify:track:ID ...") or the exact form the input must take ("expected MM-VC-...",
# "the header must be file,subject,...").
_DO = (
    "give", "copy", "use", "save", "fix", "drop", "record", "retrain", "restore", "rate",
    "add", "pass", "check", "only load", "leave", "move", "write", "train", "upgrade", "run",
    "install", "restart", "remove", "set", "try",
)  # fmt: skip
NEXT_STEP = re.compile(
    rf"[;:] (?:{'|'.join(_DO)})\b|\bexpected\b|\bmust be\b|a muselsl recording has"
)


def fresh_dir() -> Path:
    """An empty folder per example (hypothesis runs many examples in one test)."""
    return Path(tempfile.mkdtemp(dir=TMP.name))


def fuzz(faults, name: str, inner) -> None:  # noqa: ANN001
    """Run a hypothesis target, tallying its inputs apart from the faults."""
    TALLY[name] = faults.fuzzed(name)
    inner()
    tally = TALLY[name]
    assert tally.fuzzed == tally.accepted + tally.rejected_cleanly + (
        tally.rejected_without_next_step
    )
    assert tally.rejected_cleanly > 0, f"no {name} input was refused: the fuzzing is too mild"


def next_step_missing(message: str, names: str) -> bool:
    """True when `message` says only what is wrong (the input it names is left out of the
    search, so a fuzzed input cannot supply the next step itself)."""
    return NEXT_STEP.search(message.replace(names, "")) is None


def outcome(target: str, names: str, fn, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN201
    """Call fn on one fuzzed input; return its value, or None when it refused the input with
    one of our errors: one line, naming `names` (the file or the text given) and the next step.
    """
    tally = TALLY[target]
    tally.fuzzed += 1
    try:
        got = fn(*args, **kwargs)
    except OURS as exc:
        message = str(exc)
        assert message and "\n" not in message, repr(message)
        assert names in message, f"the message does not name {names!r}: {message!r}"
        if next_step_missing(message, names):
            tally.rejected_without_next_step += 1
            raise AssertionError(f"no next step: {message!r}") from exc
        tally.rejected_cleanly += 1
        return None
    tally.accepted += 1
    return got


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

    # The message names the link as given, less surrounding whitespace.
    got = outcome("playlist URL/URI/id", repr(text.strip()), playlist_id_from, text)
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

    got = outcome("track URI/URL/id", repr(text), track_id_from, text)
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

    got = outcome("RAVDESS file name", repr(name), parse_ravdess_name, name)
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

    path = tmp_path / "rec.csv"
    path.write_bytes(mutate(GOOD_CSV.encode(), edits, cut) + extra)
    got = outcome("muselsl CSV", str(path), read_muselsl_csv, path)
    if got is not None:
        samples, stamps, labels = got
        assert samples.shape == (len(stamps), 4) and np.isfinite(samples).all()


GOOD_LABELS = "file,subject,valence,arousal\nrec.csv,s1,4,2\nrec.csv,s2,,5\n"


@FILE_FUZZ
@given(edits=EDITS, cut=st.none() | st.integers(0, 80), extra=st.binary(max_size=30))
def _fuzz_labels(edits, cut, extra: bytes) -> None:
    tmp_path = fresh_dir()
    from classifier.datasets import read_labels

    (tmp_path / "rec.csv").write_text(GOOD_CSV)
    path = tmp_path / "labels.csv"
    path.write_bytes(mutate(GOOD_LABELS.encode(), edits, cut) + extra)
    got = outcome("labels file", str(path), read_labels, path, tmp_path)
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

    text = GOOD_CONFIG.replace(
        next(line for line in GOOD_CONFIG.split(b"\n") if line.startswith(key.encode())),
        f"{key} = {value}".encode(),
    )
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    (home / "config.toml").write_bytes(mutate(text, edits, cut))
    path = home / "config.toml"
    got = outcome("config file", str(path), load_settings, {"EMOTUNE_HOME": str(home)})
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

    buf = io.BytesIO()
    try:
        sio.savemat(buf, _dreamer_struct(n_subjects, n_trials, samples, channels, scores))
    except Exception:  # noqa: BLE001 - scipy cannot even write this shape: nothing to read
        return
    path = tmp_path / "DREAMER.mat"
    path.write_bytes(mutate(buf.getvalue(), edits, None))
    got = outcome("DREAMER .mat", str(path), check_dreamer_layout, path)
    if got is not None:
        assert got[0] == n_subjects and got[1] == n_trials


# A file scipy's MATLAB reader does not refuse but crashes on (SIGSEGV, not an exception):
# a value whose element type code is 8, which names no type, so the reader dereferences a
# NULL type pointer (scipy PR #25349). The fuzzing above found codes past the table, which
# read a wild pointer and crash only sometimes; this one crashes every time.
NO_TYPE_CODE = 8
MI_DOUBLE_TAG = b"\x09\x00\x00\x00\x08\x00\x00\x00"  # miDOUBLE, 8 bytes: one value


def _reader_crashing_mat() -> bytes:
    import scipy.io as sio

    buf = io.BytesIO()
    sio.savemat(buf, {"x": np.array([1.5])})
    data = buf.getvalue()
    assert data.count(MI_DOUBLE_TAG) == 1
    return data.replace(MI_DOUBLE_TAG, bytes([NO_TYPE_CODE]) + MI_DOUBLE_TAG[1:])


def test_dreamer_loader_refuses_a_broken_file_before_torcheeg(tmp_path: Path, faults) -> None:
    import subprocess
    import sys

    import scipy.io as sio

    from classifier.datasets import load_dreamer

    path = tmp_path / "DREAMER.mat"
    messages = []
    kinds = ("ratings", "bytes", "crashes the reader")
    for broken in kinds:
        if broken == "ratings":
            sio.savemat(path, _dreamer_struct(1, 2, 200, 14, [0, 9]))  # ratings outside 1-5
        elif broken == "bytes":
            path.write_bytes(b"MATLAB 5.0 MAT-file" + os.urandom(200))
        else:
            path.write_bytes(_reader_crashing_mat())
            bare = subprocess.run(
                [sys.executable, "-c", "import sys, scipy.io; scipy.io.loadmat(sys.argv[1])", path],
                capture_output=True,
            )
            assert bare.returncode < 0, "scipy itself reads this file: the test needs another"
        try:
            load_dreamer(path)
            messages.append("")  # loaded: the broken file was not noticed
        except ClassifierError as exc:
            messages.append(str(exc))
    faults.inject("input: DREAMER loader given broken files", len(kinds))
    expected = ("ratings in 1-5", "not a readable MATLAB file", "reader crashed on it")
    refused = [
        str(path) in m and want in m and "\n" not in m
        for m, want in zip(messages, expected, strict=True)
    ]
    faults.survived("input: DREAMER loader given broken files", sum(refused))
    assert all(refused), messages


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

    path = tmp_path / "m.pt"
    path.write_bytes(mutate(good_checkpoint_bytes, edits, cut))
    got = outcome("corrupted checkpoint", str(path), load_checkpoint, path)
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
    name = f"input: checkpoint carrying pickled code ({how})"
    faults.inject(name)
    with pytest.raises(ClassifierError, match="refused|corrupted") as refused:
        load_checkpoint(path)
    faults.survived(name, not marker.exists() and str(path) in str(refused.value))
    assert not marker.exists()
    assert str(path) in str(refused.value)


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
    name = f"input: voice model file carrying code ({how})"
    faults.inject(name)
    with pytest.raises(VoiceError, match="it was not loaded"):
        VoiceModel.load(path)
    code_ran = marker.exists()
    faults.survived(name, not code_ran)
    assert not code_ran
    pickle.loads(pickle.dumps(_RunsCode(marker)))  # through pickle the same trap does run
    assert marker.exists()


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


def test_the_message_check_needs_the_input_named_and_a_next_step() -> None:
    """The check itself can fail: a message that leaves out the input, or says only what is
    wrong, is caught; a fuzzed input cannot supply the next step itself."""

    def refuse(message: str):  # noqa: ANN202
        def fn() -> None:
            raise PlaylistsError(message)

        return fn

    TALLY["self-check"] = FaultRecorder("self-check", Ledger()).fuzzed("self-check")
    assert outcome("self-check", "'x'", refuse("'x' is bad; copy the link from Spotify")) is None
    assert TALLY["self-check"].rejected_cleanly == 1
    with pytest.raises(AssertionError, match="does not name"):
        outcome("self-check", "'x'", refuse("that is bad; copy the link from Spotify"))
    with pytest.raises(AssertionError, match="no next step"):
        outcome("self-check", "'x'", refuse("'x' is not a playlist URL"))
    with pytest.raises(AssertionError, match="no next step"):
        outcome("self-check", "'a; fix it'", refuse("'a; fix it' is not a playlist URL"))
    two_lines = "'x' is bad\ncopy the link from Spotify"
    with pytest.raises(AssertionError, match=re.escape(repr(two_lines))):
        outcome("self-check", "'x'", refuse(two_lines))
