"""The user's EEG and emotion data stay private to them on a shared machine.

Raw EEG, self-ratings and per-track emotions are personal data. Every command runs
inside `private_files()` (entered once at the CLI boundary): group and other permission
bits are masked, so whatever the command writes into the home (the SQLite database and
its WAL/SHM files, FIF and spool files, checkpoints and the registry, plots, caches) is
created owner-only (folders 0700, files 0600) whatever the user's umask. Files written
where the user points (`--out`, `--plot`) are written inside `user_umask()`, so they
follow the user's umask as usual.

A home made by an older emotune, or opened up by hand, is tightened on the next run
(`tighten_home`); `emotune doctor` reports whatever is still open (`open_paths`). A
PostgreSQL database is left alone: its server owns its files.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.config import Settings

GROUP_OTHER = 0o077  # the permission bits other accounts get
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

# The umask each enclosing `private_files()` replaced: what `user_umask()` restores.
_user_umasks: list[int] = []


@contextmanager
def private_files() -> Iterator[None]:
    """Mask group and other permission bits for everything created inside the block."""
    previous = os.umask(GROUP_OTHER)
    os.umask(previous | GROUP_OTHER)
    _user_umasks.append(previous)
    try:
        yield
    finally:
        _user_umasks.pop()
        os.umask(previous)


@contextmanager
def user_umask() -> Iterator[None]:
    """Inside `private_files()`, write with the user's own umask (for `--out` and the like)."""
    if not _user_umasks:
        yield
        return
    private = os.umask(_user_umasks[-1])
    try:
        yield
    finally:
        os.umask(private)


def private_roots(cfg: Settings) -> list[Path]:
    """The folders that hold the user's data: the data folder and emotune's config folder."""
    roots = [cfg.data_dir]
    if cfg.config_dir is not None and cfg.config_dir != cfg.data_dir:
        roots.append(cfg.config_dir)
    return roots


def database_files(database_url: str) -> list[Path]:
    """An SQLite database and its side files, wherever the URL puts them; none for a server."""
    if not database_url.startswith("sqlite"):
        return []  # PostgreSQL and the like: the server owns its files
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        database = make_url(database_url).database
    except ArgumentError:
        return []  # not a URL: opening the store says so in one line
    if not database or database == ":memory:":
        return []
    path = Path(database)
    return [path, *(path.with_name(path.name + suffix) for suffix in SQLITE_SIDE_FILES)]


def _walk(root: Path) -> Iterator[Path]:
    """`root` and everything under it; symbolic links are neither followed nor returned."""
    if not root.is_dir():
        return
    yield root
    for folder, dirnames, filenames in os.walk(root):
        for name in (*dirnames, *filenames):
            yield Path(folder) / name


def open_paths(cfg: Settings) -> list[tuple[Path, int]]:
    """(path, mode) of every folder and file of the user's data that other accounts can reach."""
    seen: set[Path] = set()
    found = []
    paths = [p for root in private_roots(cfg) for p in _walk(root)]
    for path in [*paths, *database_files(cfg.database_url)]:
        if path in seen:
            continue
        seen.add(path)
        try:
            st = path.lstat()
        except OSError:
            continue  # gone meanwhile, or a side file that does not exist
        if stat.S_ISLNK(st.st_mode):
            continue
        if st.st_mode & GROUP_OTHER:
            found.append((path, stat.S_IMODE(st.st_mode)))
    return found


def tighten_home(cfg: Settings) -> list[Path]:
    """Take group and other permissions off the user's data; the paths changed.

    A path this account cannot change (another owner's) is left as it is: doctor reports it.
    """
    changed = []
    for path, mode in open_paths(cfg):
        try:
            os.chmod(path, mode & ~GROUP_OTHER)
        except OSError:
            continue
        changed.append(path)
    return changed


def tightened_line(cfg: Settings, changed: list[Path]) -> str:
    """The one line that says a home was tightened."""
    roots = [r for r in private_roots(cfg) if any(p == r or r in p.parents for p in changed)]
    where = " and ".join(str(r) for r in roots) or ", ".join(str(p) for p in changed[:3])
    n = len(changed)
    return (
        f"made {n} {'path' if n == 1 else 'paths'} of your emotune data owner-only "
        f"(other accounts on this machine could read them): {where}"
    )


def open_paths_problem(cfg: Settings) -> str | None:
    """What doctor says when data is open to other accounts (with the fix), else None."""
    found = open_paths(cfg)
    if not found:
        return None
    path, mode = found[0]
    n = len(found)
    root = next((r for r in private_roots(cfg) if r == path or r in path.parents), path)
    what = f"{path} is" if n == 1 else f"{n} paths are"
    example = "" if n == 1 else f", such as {path}"
    return (
        f"{what} open to other accounts on this machine (mode {mode:04o}{example}); "
        f"run `emotune init` to make your data owner-only (or `chmod -R go-rwx {root}`)"
    )
