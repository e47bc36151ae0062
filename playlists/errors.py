"""The root of every error the playlists package raises.

`playlists` cannot import `app`, so it has its own root; the CLI's error
boundary (`app.errors.to_user_error`) turns it into a one-line message.
"""


class PlaylistsError(Exception):
    """A Spotify request that failed for a reason the user can act on.

    The message says what happened and the next step.
    """


class SpotifyNotFound(PlaylistsError):
    """Spotify answered 404 for a thing that is not a device (e.g. a deleted playlist)."""
