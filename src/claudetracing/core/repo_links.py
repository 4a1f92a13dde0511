"""Links that lead a repository's files out of it: found, and refused before we write.

A cloned repository is someone else's content. Its `.claude/settings.json`, `.claude` folder or
`.gitignore` may be a symbolic link to a file of this machine (the user's own
`~/.claude/settings.json`), and `init` or `disable` writing through it would change that file.
So every file we write in a repository must resolve (through any number of links, a dangling
one included) to a place inside the repository's real folder; links that stay inside keep working.
Reading through such a link is allowed: Claude Code reads it the same way."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from claudetracing.core import claude_settings
from claudetracing.core.errors import TracesError

GITIGNORE = ".gitignore"


class RepositoryLinkError(TracesError):
    """A file we would write in a repository is a link that leads out of it."""


@dataclass(frozen=True)
class OutsideLink:
    link: Path  # as the repository names it, e.g. <root>/.claude/settings.json
    target: Path  # where it leads in the end (realpath), outside the repository
    loop: bool = False  # a link that leads to itself: where it ends is unknown

    @property
    def what(self) -> str:
        if self.loop:
            return f"{self.link} is a symbolic link loop (it leads nowhere)"
        missing = "" if os.path.lexists(self.target) else " (which does not exist)"
        return f"{self.link} is a symbolic link to {self.target}{missing}"


def written_files(root: Path) -> list[Path]:
    """Every file `init`, `disable` and `enrichment add/remove` may write in a repository (the
    `.claude` folder is on the way to two of them)."""
    return [
        claude_settings.team_settings_path(root),
        claude_settings.personal_settings_path(root),
        root / GITIGNORE,
    ]


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _components(root: Path, path: Path) -> list[Path]:
    """root/a, root/a/b, … up to `path`: every name that could be a link on the way."""
    relative = path.relative_to(root)
    return [root.joinpath(*relative.parts[: n + 1]) for n in range(len(relative.parts))]


def outside_links(root: Path, paths: Iterable[Path] | None = None) -> list[OutsideLink]:
    """For each path under `root` (default: the files we write), the first name on its way
    that leads out of the repository or loops; once per link."""
    real_root = os.path.realpath(root)
    found: dict[Path, OutsideLink] = {}
    for path in written_files(root) if paths is None else paths:
        for name in _components(root, path):
            resolved = os.path.realpath(name)
            if os.path.islink(resolved):  # realpath stops inside a loop
                found.setdefault(name, OutsideLink(name, Path(resolved), loop=True))
                break
            if not _inside(resolved, real_root):
                found.setdefault(name, OutsideLink(name, Path(resolved)))
                break
    return list(found.values())


def link_fix(links: list[OutsideLink]) -> str:
    names = " ".join(str(link.link) for link in links)
    each, only = ("each link", "the links") if len(links) > 1 else ("the link", "the link")
    return (
        f"replace {each} with a regular file or folder inside the repository "
        f"(`rm {names}` removes only {only}), then run the command again"
    )


def refuse_outside_links(root: Path, paths: Iterable[Path] | None = None) -> None:
    """Raise, naming each link and its target, when a file we are about to write (default:
    any we may write) leads out of the repository. Called before anything is written."""
    links = outside_links(root, paths)
    if not links:
        return
    raise RepositoryLinkError(
        f"{'; '.join(link.what for link in links)}: traces writes only through links that "
        f"stay inside the repository {root}; nothing was written",
        link_fix(links),
    )
