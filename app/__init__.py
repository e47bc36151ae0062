"""emotune: tag Spotify tracks with emotions read from EEG, and build mood playlists."""

__version__ = "0.1.0"
