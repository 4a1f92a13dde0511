"""Reading files whose paths come from outside (a hook payload, a transcript, Claude Code's
folders): regular files only, and no open that can block.

Opening a FIFO for reading waits for a writer, for ever; a device never ends. A path is
checked before it is opened (a device is never opened at all), and opened non-blocking and
checked again on the open file, so a FIFO swapped in between the two cannot block either.
Standard library only: the spool reads its entries through it."""

from __future__ import annotations

import errno
import os
import stat
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pathlib import Path
    from typing import BinaryIO

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISLNK, "a symbolic link"),
)


class NotRegularFile(OSError):
    """A path that is there but is no regular file: a folder, FIFO, device or socket."""

    def __init__(self, path: Path | str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{kind}, not a regular file", str(path))
        self.kind = kind


def kind_of(mode: int) -> str:
    """What a file of this mode is, said for people ("a FIFO")."""
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def open_regular(path: Path | str, *, follow_symlinks: bool = True) -> BinaryIO:
    """`path` opened for binary reading. Raises NotRegularFile when it is no regular file, and
    OSError as `open` does (gone, permission denied, a symbolic link with `follow_symlinks`
    off)."""
    mode = os.stat(path, follow_symlinks=follow_symlinks).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFile(path, kind_of(mode))
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(path, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):  # swapped in after the check above
            raise NotRegularFile(path, kind_of(mode))
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_regular(path: Path | str, *, follow_symlinks: bool = True) -> bytes:
    """The whole of a regular file (see `open_regular`)."""
    with open_regular(path, follow_symlinks=follow_symlinks) as handle:
        return handle.read()
