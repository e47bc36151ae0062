"""The emulator's sample library: synthetic tracks with realistic ids and durations.

Nothing here is real music: names are generated from word lists and every
name says "Sample". Ids look like Spotify's (22 base62 characters) and are
generated deterministically from a seed, so a test can rely on them.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field

BASE62 = string.digits + string.ascii_letters

_ADJECTIVES = (
    "Quiet", "Bright", "Golden", "Restless", "Hollow", "Electric", "Slow", "Burning",
    "Silver", "Distant", "Gentle", "Broken", "Wild", "Velvet", "Cold", "Sunny",
)  # fmt: skip
_NOUNS = (
    "River", "Morning", "Signal", "Harbour", "Engine", "Garden", "Static", "Summer",
    "Window", "Orbit", "Ember", "Meadow", "Thunder", "Letter", "Mirror", "Tide",
)  # fmt: skip


def random_id(rng: random.Random) -> str:
    """A 22-character base62 id, the shape of every Spotify id."""
    return "".join(rng.choice(BASE62) for _ in range(22))


@dataclass(frozen=True)
class SampleTrack:
    """One playable item of the emulator (a track, or an episode when `kind` says so).

    `duration_ms` is the length in milliseconds.
    """

    id: str
    name: str
    duration_ms: int
    artists: tuple[tuple[str, str], ...] = ()  # (artist id, artist name)
    album_id: str = ""
    album_name: str = ""
    track_number: int = 1
    kind: str = "track"  # "track" | "episode"
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def uri(self) -> str:
        return f"spotify:{self.kind}:{self.id}"


def generate_sample_library(n_tracks: int = 300, seed: int = 2026) -> list[SampleTrack]:
    """`n_tracks` synthetic sample tracks, 2.5-6 minutes long, grouped in albums of 10.

    The same seed always yields the same ids, names and durations.
    """
    rng = random.Random(seed)
    n_artists = max(1, n_tracks // 20)
    artists = [(random_id(rng), f"Sample Artist {i + 1:02d}") for i in range(n_artists)]
    tracks: list[SampleTrack] = []
    album_id, album_name, artist = "", "", artists[0]
    for i in range(n_tracks):
        if i % 10 == 0:
            album_id = random_id(rng)
            album_name = f"Sample Album {i // 10 + 1:02d}"
            artist = rng.choice(artists)
        name = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} (Sample {i + 1:03d})"
        tracks.append(
            SampleTrack(
                id=random_id(rng),
                name=name,
                duration_ms=rng.randint(150_000, 360_000),
                artists=(artist,),
                album_id=album_id,
                album_name=album_name,
                track_number=i % 10 + 1,
            )
        )
    return tracks
