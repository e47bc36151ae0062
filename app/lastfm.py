"""Build the Last.fm client from the environment and the config file.

`LASTFM_API_KEY` (or `[lastfm] api_key`) is the key; `EMOTUNE_LASTFM_URL` (or
`[lastfm] api_url`) points at a local emulator ("https://127.0.0.1:PORT"), whose
throwaway CA `EMOTUNE_LASTFM_CA` (or `[lastfm] ca_file`) names. `[lastfm]
max_age_days` (default 30) is how old cached tags may be before a fetch asks again.
The key is never printed.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.errors import ConfigError

if TYPE_CHECKING:
    from playlists.lastfm import LastfmClient

DEFAULT_MAX_AGE_DAYS = 30.0


def _section(cfg: Settings) -> dict[str, Any]:
    value = (cfg.extra or {}).get("lastfm", {})
    if not isinstance(value, dict):
        raise ConfigError(f"config file {cfg.config_file}: [lastfm] must be a table; fix it")
    return value


def max_age_days(cfg: Settings) -> float:
    raw = _section(cfg).get("max_age_days", DEFAULT_MAX_AGE_DAYS)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        value = -1.0
    if not value >= 0:
        raise ConfigError(
            f"config file {cfg.config_file}: lastfm.max_age_days = {raw!r} is not a number of "
            "days >= 0; fix that line"
        )
    return value


def client_from_settings(cfg: Settings, **overrides: Any) -> LastfmClient:
    """A Last.fm client, or a ConfigError naming LASTFM_API_KEY when there is no key."""
    from playlists.lastfm import KEY_HELP, LastfmClient

    section = _section(cfg)
    key = os.environ.get("LASTFM_API_KEY") or section.get("api_key")
    if not key or not str(key).strip():
        raise ConfigError(
            f"no Last.fm API key; {KEY_HELP} (or run `emotune sandbox` and use its key)"
        )
    api_url = os.environ.get("EMOTUNE_LASTFM_URL") or section.get("api_url")
    if api_url and "min_interval_s" in section and "min_interval_s" not in overrides:
        # Only a local emulator may be asked faster than Last.fm's 5 requests a second.
        try:
            overrides["min_interval_s"] = max(0.0, float(section["min_interval_s"]))
        except (TypeError, ValueError):
            raise ConfigError(
                f"config file {cfg.config_file}: lastfm.min_interval_s is not a number; fix it"
            ) from None
    return LastfmClient(
        str(key),
        api_url=api_url,
        ca_file=os.environ.get("EMOTUNE_LASTFM_CA") or section.get("ca_file"),
        **overrides,
    )
