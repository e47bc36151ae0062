"""Every `emotune ...` line in the README names a real command and real options."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import typer.main

from app.cli.main import app

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_command_lines() -> list[str]:
    """`emotune ...` invocations inside the README's code blocks (comments stripped)."""
    lines, in_code = [], False
    for raw in README.read_text().splitlines():
        if raw.strip().startswith("```"):
            in_code = not in_code
            continue
        if not in_code:
            continue
        for part in re.split(r"&&|\|", raw.split(" # ", 1)[0]):
            words = shlex.split(part, comments=False)
            while words and re.match(r"^[A-Z_]+=", words[0]):  # VAR=value prefixes
                words.pop(0)
            if words and words[0] == "emotune":
                lines.append(" ".join(words))
    return lines


def readme_inline_commands() -> list[str]:
    """`emotune ...` in the README's running text (inline code spans, not code blocks).

    Optional parts written `[--opt N]` are checked as if given; `…` stands for the rest.
    """
    prose, in_code = [], False
    for raw in README.read_text().splitlines():
        if raw.strip().startswith("```"):
            in_code = not in_code
        elif not in_code:
            prose.append(raw)
    found = []
    for span in re.findall(r"`(emotune\s[^`]+)`", "\n".join(prose)):  # spans may wrap lines
        words = shlex.split(span.replace("[", " ").replace("]", " "))
        found.append(" ".join(w for w in words if w not in ("…", "...")))
    return found


def check_invocation(words: list[str]) -> str | None:
    """None if `emotune <words>` parses to a real command with real options, else why not."""
    command: click.Command = typer.main.get_command(app)
    path = ["emotune"]
    rest = list(words)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        name = rest.pop(0)
        sub = command.get_command(click.Context(command), name)
        if sub is None:
            return f"{' '.join(path)} has no command {name!r}"
        command, path = sub, [*path, name]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)} | {"--help"}
    for word in rest:
        if word.startswith("-") and word.split("=", 1)[0] not in known:
            return f"{' '.join(path)} has no option {word}"
    return None


def test_readme_mentions_commands() -> None:
    lines = readme_command_lines()
    assert len(lines) > 20


def test_every_readme_command_is_real() -> None:
    problems = {}
    for line in readme_command_lines():
        why = check_invocation(shlex.split(line)[1:])
        if why:
            problems[line] = why
    assert problems == {}


def test_every_command_in_the_readme_text_is_real() -> None:
    inline = readme_inline_commands()
    assert len(inline) > 10
    problems = {line: why for line in inline if (why := check_invocation(line.split()[1:]))}
    assert problems == {}


def test_the_checker_catches_mistakes() -> None:
    assert check_invocation(["tracks", "--json"]) is None
    assert "no command" in check_invocation(["trakcs"])
    assert "no option --colour" in check_invocation(["tracks", "--colour"])
