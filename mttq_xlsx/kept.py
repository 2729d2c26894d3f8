"""What the files of one template share, remembered across the files a reading worker reads."""

from __future__ import annotations

from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Kept(dict[K, V]):
    """A dict of at most `most` entries that starts over when it is full, so that a run of hostile
    files, each unlike the others, cannot fill a worker's memory. Callers keep only entries of the
    size a template's files have."""

    def __init__(self, most: int) -> None:
        super().__init__()
        self.most = most

    def keep(self, key: K, value: V) -> None:
        if len(self) >= self.most:
            self.clear()
        self[key] = value
