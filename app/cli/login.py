"""`emotune login`: log in to Spotify (PKCE) and save the token (mode 0600)."""

from __future__ import annotations

from typing import Annotated

import typer

from app.cli.common import console, err_console, settings


def login(
    no_browser: Annotated[
        bool, typer.Option("--no-browser", help="Print the login URL instead of opening it.")
    ] = False,
    headless: Annotated[
        bool,
        typer.Option(
            "--headless",
            help="Open the login URL without a browser (for `emotune sandbox`, "
            "which approves at once).",
        ),
    ] = False,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the browser to come back.")
    ] = 300.0,
) -> None:
    """Log in to Spotify: the browser asks you to approve, then emotune keeps the token.

    Example: emotune login --no-browser
    """
    from app.spotify import login as spotify_login

    cfg = settings()
    open_url = None
    if headless:
        from playlists.client import headless_open_url

        open_url = headless_open_url
    profile = spotify_login(
        cfg,
        open_url=open_url,
        no_browser=no_browser,
        show=lambda text: err_console.print(text, markup=False),
        timeout_s=timeout,
    )
    name = profile.get("display_name") or profile.get("id")
    # Spotify tells the plan only to apps granted user-read-private, which emotune does not ask.
    plan = f" ({profile['product']})" if profile.get("product") else ""
    console.print(f"logged in to Spotify as {name}{plan}; token saved in {cfg.token_path}")


def register(app: typer.Typer) -> None:
    app.command("login")(login)
