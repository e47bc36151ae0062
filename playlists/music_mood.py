"""Music-side mood: Last.fm tags -> a position on the valence-arousal plane (pure).

The crowd's tags describe a song; a published word-norm lexicon
(`data/mood_lexicon.csv`, every number sourced there) says where each mood word
lies. A track's music position is the count-weighted mean of its mood tags, with a
confidence from how many mood tags it has and how much they agree. Tags that are
not in the lexicon (genres, years, "seen live", "favourites") do not count, and no
mood tag means no position. Positions are on emotune's scale: p(valence high),
p(arousal high) in [0, 1], the lexicon's 1-9 ratings mapped so that 5 lands on 0.5.

Also here: cleaning Spotify artist and title strings for a Last.fm lookup.
No I/O except reading the lexicon file.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from playlists.errors import PlaylistsError

LEXICON_PATH = Path(__file__).parent / "data" / "mood_lexicon.csv"
LEXICON_COLUMNS = ("tag", "word", "valence", "arousal", "match")
MAX_TAGS = 100  # Last.fm's top tags are ordered by count; the tail never matters
ARTIST_FACTOR = 0.6  # artist tags describe the artist, not the song: less confident
SPREAD_SCALE = 0.35  # a weighted spread this wide (p units) means "no agreement"


class LexiconError(PlaylistsError):
    """The mood lexicon file cannot be used (a hand edit gone wrong)."""


@dataclass(frozen=True)
class LexiconEntry:
    tag: str
    word: str  # the norm-lexicon entry the numbers come from
    valence: float  # p(valence high), 0-1
    arousal: float  # p(arousal high), 0-1
    alias: bool


@dataclass(frozen=True)
class MusicPosition:
    """A track's place from its tags: p(valence high), p(arousal high), a confidence."""

    valence: float
    arousal: float
    confidence: float
    n_mood_tags: int
    mood_tags: tuple[str, ...]  # the tags that counted, strongest first


def rating_to_p(rating: float) -> float:
    """A 1-9 norm rating onto 0-1 so that the scale's midpoint 5 lands on 0.5."""
    return (rating - 1.0) / 8.0


def normalise_tag(name: str) -> str:
    """Lower case, "-" and "_" as spaces, runs of whitespace collapsed."""
    return " ".join(re.sub(r"[-_]+", " ", name.casefold()).split())


def load_lexicon(path: Path | str = LEXICON_PATH) -> dict[str, LexiconEntry]:
    """The lexicon keyed by normalised tag; a bad file is one line naming the row to fix."""
    path = Path(path)
    fix = f"fix that line of {path} or restore the file shipped with emotune"
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise LexiconError(f"mood lexicon {path} cannot be read ({exc}); {fix}") from None
    rows = [(n, line) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    rows = [(n, line) for n, line in rows if not line.lstrip().startswith("#")]
    if not rows or tuple(c.strip() for c in rows[0][1].split(",")) != LEXICON_COLUMNS:
        raise LexiconError(
            f"mood lexicon {path}: the first row must be {','.join(LEXICON_COLUMNS)}; {fix}"
        )
    out: dict[str, LexiconEntry] = {}
    for n, line in rows[1:]:
        cells = next(csv.reader([line]))
        if len(cells) != len(LEXICON_COLUMNS):
            raise LexiconError(
                f"mood lexicon {path} line {n}: {len(cells)} columns, "
                f"expected {len(LEXICON_COLUMNS)}; {fix}"
            )
        tag, word, valence, arousal, match = (c.strip() for c in cells)
        key = normalise_tag(tag)
        if not key:
            raise LexiconError(f"mood lexicon {path} line {n}: empty tag; {fix}")
        numbers = []
        for label, value in (("valence", valence), ("arousal", arousal)):
            try:
                number = float(value)
            except ValueError:
                number = math.nan
            if not 1.0 <= number <= 9.0:  # also false for nan
                raise LexiconError(
                    f"mood lexicon {path} line {n}: {label} {value!r} is not a 1-9 rating; {fix}"
                )
            numbers.append(number)
        if match not in ("same", "alias"):
            raise LexiconError(
                f"mood lexicon {path} line {n}: match must be same or alias, not {match!r}; {fix}"
            )
        if key in out:
            raise LexiconError(f"mood lexicon {path} line {n}: tag {tag!r} appears twice; {fix}")
        out[key] = LexiconEntry(
            key, word, rating_to_p(numbers[0]), rating_to_p(numbers[1]), match == "alias"
        )
    return out


def music_position(
    tags: Iterable[tuple[str, float]],
    lexicon: Mapping[str, LexiconEntry],
    *,
    source: str = "track",
) -> MusicPosition | None:
    """The count-weighted mean of a track's mood tags, or None when it has none.

    `tags` are (name, Last.fm count) pairs, strongest first as Last.fm sends them;
    only the first `MAX_TAGS` are read. Confidence grows with the number of mood tags
    and falls with their spread; artist tags (`source="artist"`) count for less.
    """
    points: list[tuple[str, float, float, float]] = []
    seen: set[str] = set()
    for i, (name, count) in enumerate(tags):
        if i >= MAX_TAGS:
            break
        entry = lexicon.get(normalise_tag(name))
        if entry is None or entry.tag in seen:
            continue
        seen.add(entry.tag)
        weight = max(float(count), 1.0) if math.isfinite(float(count)) else 1.0
        points.append((entry.tag, weight, entry.valence, entry.arousal))
    if not points:
        return None
    total = sum(w for _, w, _, _ in points)
    valence = sum(w * v for _, w, v, _ in points) / total
    arousal = sum(w * a for _, w, _, a in points) / total
    spread = math.sqrt(
        sum(w * ((v - valence) ** 2 + (a - arousal) ** 2) for _, w, v, a in points) / total
    )
    amount = 1.0 - math.exp(-len(points) / 3.0)
    agreement = max(0.0, 1.0 - spread / SPREAD_SCALE)
    confidence = amount * agreement * (ARTIST_FACTOR if source == "artist" else 1.0)
    ordered = sorted(points, key=lambda p: -p[1])
    return MusicPosition(
        valence=valence,
        arousal=arousal,
        confidence=round(min(1.0, max(0.0, confidence)), 4),
        n_mood_tags=len(points),
        mood_tags=tuple(p[0] for p in ordered),
    )


# --- names for a Last.fm lookup ------------------------------------------------------

_FEAT = re.compile(r"\s*[\(\[]\s*(feat\.?|ft\.?|featuring|with)\s[^\)\]]*[\)\]]", re.IGNORECASE)
_FEAT_TAIL = re.compile(r"\s+(feat\.?|ft\.?|featuring)\s.*$", re.IGNORECASE)
_VERSION_WORDS = (
    r"remaster(ed)?|re-?master(ed)?|mono|stereo|single version|album version|radio edit"
    r"|edit|live|bonus track|deluxe|anniversary edition|explicit|clean|version|mix"
)
_DASH_VERSION = re.compile(rf"\s+-\s+[^-]*\b({_VERSION_WORDS})\b.*$", re.IGNORECASE)
_BRACKET_VERSION = re.compile(rf"\s*[\(\[][^\)\]]*\b({_VERSION_WORDS})\b[^\)\]]*[\)\]]", re.I)


def clean_title(title: str) -> str:
    """A Spotify title as Last.fm knows it: "(feat. X)", "- Remastered 2011",
    "[Live]" and the like removed. Never returns an empty string for a non-empty title."""
    original = " ".join(title.split())
    out = _FEAT.sub("", original)
    out = _FEAT_TAIL.sub("", out)
    out = _DASH_VERSION.sub("", out)
    out = _BRACKET_VERSION.sub("", out)
    out = " ".join(out.split())
    return out or original


def primary_artist(artists: str | Sequence[str]) -> str:
    """The first credited artist ("A, B" as the store keeps them, or a list), feat. removed."""
    names = [artists] if isinstance(artists, str) else list(artists)
    first = next((n for n in names if n and n.strip()), "")
    if isinstance(artists, str):
        first = first.split(", ")[0]
    first = _FEAT_TAIL.sub("", first)
    return " ".join(first.split())
