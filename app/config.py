"""Settings from a TOML file in the user config dir plus environment variables.

Precedence, highest first: environment variables, the config file, defaults.
`EMOTUNE_HOME` puts config, database, models and recordings under one folder
(the tests and the demo use it). Spotify settings keep spotipy's names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.errors import ConfigError

APP_NAME = "emotune"
DEFAULT_REDIRECT_URI = "http://127.0.0.1:8888/callback"


@dataclass(frozen=True)
class Settings:
    """Everything a command needs to know about where things live and how to reach them."""

    config_file: Path
    data_dir: Path
    database_url: str
    spotify_client_id: str | None = None
    spotify_redirect_uri: str = DEFAULT_REDIRECT_URI
    # Base URL of a local Spotify emulator ("http://127.0.0.1:8765"); None means real Spotify.
    spotify_api_url: str | None = None
    eeg_stream_name: str = "Muse"
    eeg_stream_type: str = "EEG"
    eeg_source_id: str | None = None  # pick one headset when several stream
    line_noise_hz: float = 50.0
    min_windows_per_listen: int = 10
    extra: dict[str, Any] = field(default_factory=dict)
    # emotune's own config folder (the token lives there unless EMOTUNE_CONFIG moves it);
    # kept owner-only like data_dir. None when the settings were not loaded from a home.
    config_dir: Path | None = None

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def recordings_dir(self) -> Path:
        return self.data_dir / "recordings"

    @property
    def token_path(self) -> Path:
        return self.config_file.parent / "spotify-token.json"


def _default_dirs(env: dict[str, str]) -> tuple[Path, Path]:
    """Return (config dir, data dir)."""
    home = env.get("EMOTUNE_HOME")
    if home:
        root = Path(home).expanduser()
        return root, root
    import platformdirs

    return (
        Path(platformdirs.user_config_dir(APP_NAME)),
        Path(platformdirs.user_data_dir(APP_NAME)),
    )


def read_config_file(path: Path) -> dict[str, Any]:
    """Parse the TOML config file; a missing file is an empty config."""
    import tomllib  # here: `emotune --help` reads no config

    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"config file {path} is not valid TOML ({exc}); fix it or move it aside"
        ) from None
    except OSError as exc:
        raise ConfigError(
            f"config file {path} cannot be read ({exc.strerror}); check its permissions"
        ) from None


def _section(data: dict[str, Any], name: str, path: Path) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"config file {path}: [{name}] must be a table; fix it or remove it")
    return value


def _typed(value: Any, kind: type, key: str, path: Path) -> Any:
    try:
        return kind(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(inf)
        raise ConfigError(
            f"config file {path}: {key} = {value!r} is not a {kind.__name__}; fix that line"
        ) from None


def load_settings(env: dict[str, str] | None = None) -> Settings:
    """Build the settings from `env` (default: os.environ) and the config file."""
    env = dict(os.environ if env is None else env)
    config_dir, data_dir = _default_dirs(env)
    config_file = Path(env.get("EMOTUNE_CONFIG", config_dir / "config.toml")).expanduser()
    data = read_config_file(config_file)
    db = _section(data, "database", config_file)
    spotify = _section(data, "spotify", config_file)
    eeg = _section(data, "eeg", config_file)
    listen = _section(data, "listen", config_file)

    database_url = env.get("EMOTUNE_DATABASE_URL") or db.get("url")
    if not database_url:
        database_url = f"sqlite:///{data_dir / 'emotune.db'}"
    return Settings(
        config_file=config_file,
        data_dir=data_dir,
        database_url=str(database_url),
        spotify_client_id=env.get("SPOTIPY_CLIENT_ID") or spotify.get("client_id"),
        spotify_redirect_uri=env.get("SPOTIPY_REDIRECT_URI")
        or spotify.get("redirect_uri", DEFAULT_REDIRECT_URI),
        spotify_api_url=env.get("EMOTUNE_SPOTIFY_URL") or spotify.get("api_url"),
        eeg_stream_name=str(eeg.get("stream_name", "Muse")),
        eeg_stream_type=str(eeg.get("stream_type", "EEG")),
        eeg_source_id=env.get("EMOTUNE_EEG_SOURCE_ID") or eeg.get("source_id"),
        line_noise_hz=_typed(
            eeg.get("line_noise_hz", 50.0), float, "eeg.line_noise_hz", config_file
        ),
        min_windows_per_listen=_typed(
            listen.get("min_windows", 10), int, "listen.min_windows", config_file
        ),
        extra=data,
        config_dir=config_dir,
    )
