"""Mood tags -> the valence-arousal plane: the shipped lexicon, positions, lookup names."""

from __future__ import annotations

from pathlib import Path

import pytest

from playlists.music_mood import (
    LEXICON_PATH,
    LexiconError,
    clean_title,
    load_lexicon,
    music_position,
    normalise_tag,
    primary_artist,
)


def quadrant(v: float, a: float) -> str:
    if v > 0.5:
        return "happy" if a > 0.5 else "calm"
    return "tense" if a > 0.5 else "sad"


def test_shipped_lexicon_cites_its_source_and_places_core_words_in_their_quadrants() -> None:
    text = LEXICON_PATH.read_text(encoding="utf-8")
    assert "Glasgow Norms" in text and "CC BY 4.0" in text and "10.3758/s13428-018-1099-3" in text
    lex = load_lexicon()
    assert len(lex) > 80
    expected = {
        "happy": "happy", "fun": "happy", "calm": "calm", "relaxing": "calm",
        "sad": "sad", "melancholy": "sad", "angry": "tense", "aggressive": "tense",
    }  # fmt: skip
    for tag, quad in expected.items():
        assert quadrant(lex[tag].valence, lex[tag].arousal) == quad, tag
    assert lex["chill out"].alias and not lex["happy"].alias
    assert "seen live" not in lex and "rock" not in lex and "2010s" not in lex


def test_position_is_the_count_weighted_mean_of_mood_tags_only() -> None:
    lex = load_lexicon()
    tags = [("rock", 100), ("happy", 75), ("seen live", 60), ("sad", 25), ("2010s", 10)]
    pos = music_position(tags, lex)
    assert pos is not None and pos.n_mood_tags == 2 and pos.mood_tags == ("happy", "sad")
    h, s = lex["happy"], lex["sad"]
    assert pos.valence == pytest.approx((75 * h.valence + 25 * s.valence) / 100)
    assert pos.arousal == pytest.approx((75 * h.arousal + 25 * s.arousal) / 100)
    assert music_position([("rock", 100), ("favourites", 50)], lex) is None
    assert music_position([], lex) is None


def test_confidence_grows_with_agreeing_tags_and_falls_with_disagreement_and_artist_source() -> (
    None
):
    lex = load_lexicon()
    one = music_position([("happy", 100)], lex)
    three = music_position([("happy", 100), ("fun", 80), ("cheerful", 60)], lex)
    torn = music_position([("happy", 100), ("sad", 100), ("angry", 100)], lex)
    artist = music_position([("happy", 100), ("fun", 80), ("cheerful", 60)], lex, source="artist")
    assert one and three and torn and artist
    assert three.confidence > one.confidence > 0
    assert torn.confidence < three.confidence
    assert artist.confidence < three.confidence
    assert all(0 <= p.confidence <= 1 for p in (one, three, torn, artist))


def test_a_tag_list_with_thousands_of_entries_reads_only_the_top_ones() -> None:
    lex = load_lexicon()
    tags = [("happy", 100)] + [(f"junk {i}", 1) for i in range(5000)] + [("sad", 1000)]
    pos = music_position(tags, lex)
    assert pos is not None and pos.mood_tags == ("happy",)


def test_tag_spelling_variants_normalise() -> None:
    assert normalise_tag("  Chill-Out ") == "chill out" == normalise_tag("chill_out")
    assert normalise_tag("FEEL   good") == "feel good"


@pytest.mark.parametrize(
    ("title", "clean"),
    [
        ("Here Comes the Sun - Remastered 2009", "Here Comes the Sun"),
        ("Hey Jude - 2015 Remaster", "Hey Jude"),
        ("Song (feat. Someone Else)", "Song"),
        ("Song [Live]", "Song"),
        ("Quiet River (Sample 001)", "Quiet River (Sample 001)"),
        ("Live Forever", "Live Forever"),
        ("夜に駆ける", "夜に駆ける"),
        ("(Radio Edit)", "(Radio Edit)"),
    ],
)
def test_clean_title(title: str, clean: str) -> None:
    assert clean_title(title) == clean


def test_primary_artist() -> None:
    assert primary_artist("Daft Punk, Pharrell Williams") == "Daft Punk"
    assert primary_artist(("", "Björk")) == "Björk"
    assert primary_artist("Artist feat. Other") == "Artist"
    assert primary_artist("") == ""


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ("happy,happy,12,6.9,same", "valence '12' is not a 1-9 rating"),
        ("happy,happy,8.2,nan,same", "arousal 'nan' is not a 1-9 rating"),
        ("happy,happy,8.2,six,same", "arousal 'six' is not a 1-9 rating"),
        ("happy,happy,8.2,6.9", "4 columns"),
        ("happy,happy,8.2,6.9,maybe", "match must be same or alias"),
    ],
)
def test_a_hand_edited_lexicon_with_bad_values_is_one_line_naming_the_row(
    tmp_path: Path, row: str, says: str
) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text("# edited\ntag,word,valence,arousal,match\nsad,sad,2.2,3.9,same\n" + row + "\n")
    with pytest.raises(LexiconError) as err:
        load_lexicon(path)
    message = str(err.value)
    assert says in message and "line 4" in message and "\n" not in message
    assert "restore the file shipped with emotune" in message


def test_duplicate_tags_and_a_missing_header_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "lexicon.csv"
    path.write_text("tag,word,valence,arousal,match\nsad,sad,2,3,same\nSad,sad,2,3,same\n")
    with pytest.raises(LexiconError, match="appears twice"):
        load_lexicon(path)
    path.write_text("sad,sad,2,3,same\n")
    with pytest.raises(LexiconError, match="first row must be"):
        load_lexicon(path)
    with pytest.raises(LexiconError, match="cannot be read"):
        load_lexicon(tmp_path / "gone.csv")
