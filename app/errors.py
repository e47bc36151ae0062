"""The one exception hierarchy the CLI knows.

Every error a user can act on is an `EmotuneError` whose message is one line
saying what is wrong and what to do next. `classifier` and `playlists` cannot
import `app`, so each has its own root error; `to_user_error` maps those into
this hierarchy at the CLI boundary.
"""

from __future__ import annotations


class EmotuneError(Exception):
    """Base of all user-facing errors: the message is shown as one line."""


class ConfigError(EmotuneError):
    """The config file or an environment variable cannot be used."""


class StoreError(EmotuneError):
    """The database cannot be opened, migrated or written."""


class NotFoundError(EmotuneError):
    """A thing the user named (a model, a session, a track) does not exist."""


class ModelError(EmotuneError):
    """An EEG or voice model, its training data or its input is unusable."""


class StreamError(EmotuneError):
    """The EEG stream cannot be found or read."""


class SpotifyError(EmotuneError):
    """Spotify (or the local emulator) refused or failed a request."""


def to_user_error(exc: BaseException) -> EmotuneError | None:
    """Return the app error for `exc`, or None when it is a bug, not bad input."""
    if isinstance(exc, EmotuneError):
        return exc
    from classifier.errors import ClassifierError
    from playlists.errors import PlaylistsError

    if isinstance(exc, ClassifierError):
        return ModelError(str(exc))
    if isinstance(exc, PlaylistsError):
        return SpotifyError(str(exc))
    return None
