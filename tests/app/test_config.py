"""Settings: file, environment, EMOTUNE_HOME, bad files."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import load_settings
from app.errors import ConfigError


def test_emotune_home_holds_everything(tmp_path: Path) -> None:
    s = load_settings({"EMOTUNE_HOME": str(tmp_path)})
    assert s.config_file == tmp_path / "config.toml"
    assert s.database_url == f"sqlite:///{tmp_path / 'emotune.db'}"
    assert s.models_dir.parent == tmp_path and s.token_path.parent == tmp_path


def test_environment_beats_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[spotify]\nclient_id = "from-file"\n[database]\nurl = "sqlite:///file.db"\n'
        "[listen]\nmin_windows = 7\n"
    )
    env = {"EMOTUNE_HOME": str(tmp_path), "SPOTIPY_CLIENT_ID": "from-env"}
    s = load_settings(env)
    assert s.spotify_client_id == "from-env"
    assert s.database_url == "sqlite:///file.db"
    assert s.min_windows_per_listen == 7
    env["EMOTUNE_DATABASE_URL"] = "postgresql+psycopg://u@h/emotune"
    assert load_settings(env).database_url == "postgresql+psycopg://u@h/emotune"


@pytest.mark.parametrize(
    "text, match",
    [
        ("[spotify\nclient_id=1", "not valid TOML"),
        ("spotify = 3\n", r"\[spotify\] must be a table"),
        ("[listen]\nmin_windows = 'many'\n", "listen.min_windows"),
    ],
)
def test_bad_config_file_names_the_file(tmp_path: Path, text: str, match: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=match) as info:
        load_settings({"EMOTUNE_HOME": str(tmp_path)})
    assert str(path) in str(info.value)
    assert path.read_text() == text


def test_undecodable_config_file(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings({"EMOTUNE_HOME": str(tmp_path)})
