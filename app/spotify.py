"""Build the Spotify client from the settings (Spotify itself, or the local emulator).

`EMOTUNE_SPOTIFY_URL=http://127.0.0.1:8765` (`Settings.spotify_api_url`) points
both the Web API and the accounts endpoints at `emotune sandbox`; the token
lives at `Settings.token_path` with mode 0600.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.config import Settings
from app.errors import ConfigError

if TYPE_CHECKING:
    from playlists.client import RetryPolicy, SpotifyClient

# The emulator accepts any client id; real Spotify needs the user's own app.
SANDBOX_CLIENT_ID = "emotune-sandbox"


def client_id(cfg: Settings) -> str:
    if cfg.spotify_client_id:
        return cfg.spotify_client_id
    if cfg.spotify_api_url:
        return SANDBOX_CLIENT_ID
    raise ConfigError(
        "no Spotify client id; set SPOTIPY_CLIENT_ID to your Spotify app's id "
        "(or EMOTUNE_SPOTIFY_URL to a running `emotune sandbox`)"
    )


def client_from_settings(cfg: Settings, *, policy: RetryPolicy | None = None) -> SpotifyClient:
    """A client using the saved token; "run `emotune login`" when there is none.

    `policy` bounds its retries and waits (default: the client's own).
    """
    from playlists.client import make_client

    return make_client(
        client_id(cfg),
        cfg.spotify_redirect_uri,
        cfg.token_path,
        api_url=cfg.spotify_api_url,
        policy=policy,
    )


def login(
    cfg: Settings,
    *,
    open_url: Callable[[str], Any] | None = None,
    no_browser: bool = False,
    show: Callable[[str], Any] = print,
    timeout_s: float = 300.0,
) -> dict[str, Any]:
    """Log in with PKCE and save the token; returns the Spotify profile."""
    from playlists.client import login as pkce_login

    return pkce_login(
        client_id(cfg),
        cfg.spotify_redirect_uri,
        cfg.token_path,
        api_url=cfg.spotify_api_url,
        open_url=open_url,
        no_browser=no_browser,
        show=show,
        timeout_s=timeout_s,
    )
