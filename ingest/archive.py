"""Members of an upload: a single file, a folder, or a zip, read safely.

Every upload is seen as a flat list of members (a path and a way to open it); ``opened`` is the
one way every entry point (``phenowatch nights``, uploads, ``replay``) lists them. Zip archives
are checked whole before any member is read: an absolute or ``..`` member path, a total
uncompressed size over the limit, or a compression ratio typical of zip bombs refuses the archive
without expanding it. A zip inside a folder or inside a zip (people zip the folder that holds the
vendor's zip) is opened the same way, up to ``Limits.max_depth`` archives deep; the bytes of
every level count against one ``max_total_bytes``. A nested zip that cannot be opened (broken,
hostile, too deep) becomes a member that carries its error, so that its siblings still load.
"""

from __future__ import annotations

import io
import os
import shutil
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property, partial
from pathlib import Path, PurePosixPath
from tempfile import TemporaryDirectory
from typing import IO, Any, cast

from ingest.errors import IngestError, MalformedFileError, UnsafeInputError

HEAD_BYTES = 64 * 1024
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")


@dataclass(frozen=True)
class Limits:
    """Bounds on what an archive may expand to. The defaults admit a decade of Apple Watch data."""

    max_total_bytes: int = 16 * 1024**3
    max_members: int = 200_000
    #: uncompressed/compressed; real exports stay far below (Apple Health XML: about 20-40)
    max_ratio: float = 250.0
    #: the ratio is only judged on members larger than this, tiny files compress oddly
    ratio_floor_bytes: int = 1024 * 1024
    #: zips inside zips (or inside a folder) opened at most this many archives deep
    max_depth: int = 3


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True)
class Member:
    """One file of an upload. ``display`` names it for people (``export.zip!a/export.xml``);
    ``path`` is its posix path inside the container, used for name hints."""

    display: str
    path: str
    size: int | None
    opener: Callable[[], IO[bytes]] = field(repr=False, compare=False)
    #: the file on disk, when the member is one (not a zip member)
    file: Path | None = field(default=None, compare=False)
    #: set on a nested archive that could not be opened: the member is refused with it
    error: IngestError | None = field(default=None, compare=False)

    @cached_property
    def name(self) -> str:  # asked of every member by every parser that looks for its siblings
        return PurePosixPath(self.path).name

    def open(self) -> IO[bytes]:
        return self.opener()

    def head(self, n: int = HEAD_BYTES) -> bytes:
        with self.open() as fh:
            return fh.read(n)


def is_zip(head: bytes) -> bool:
    return head[:4] in ZIP_MAGIC


def iter_members(
    source: str | os.PathLike[str] | bytes,
    *,
    display: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[Member]:
    """Yield the members of a file, folder, zip file or in-memory bytes, sorted by path."""
    if isinstance(source, bytes):
        label = display or "<upload>"
        if is_zip(source[:4]):
            yield from _zip_members(lambda: io.BytesIO(source), label, limits)
        else:
            yield Member(label, label, len(source), lambda: io.BytesIO(source))
        return
    path = Path(source)
    label = display or str(path)
    if path.is_dir():
        yield from _dir_members(path, label)
    elif path.is_file():
        with path.open("rb") as fh:
            magic = fh.read(4)
        if is_zip(magic):
            yield from _zip_members(_opener(path), label, limits)
        else:
            yield Member(label, path.name, path.stat().st_size, _opener(path), path)
    else:
        raise MalformedFileError(label, "no such file or folder")


@contextmanager
def opened(
    source: str | os.PathLike[str] | bytes,
    *,
    display: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Iterator[list[Member]]:
    """Every member of ``source`` with nested zips opened (see the module's docstring), valid
    inside the ``with`` block: a zip inside a zip is copied to a scratch folder removed on exit."""
    with ExitStack() as stack:
        scratch: list[Path] = []

        def folder() -> Path:
            if not scratch:
                scratch.append(Path(stack.enter_context(TemporaryDirectory(prefix="phenowatch-"))))
            return scratch[0]

        top = list(iter_members(source, display=display, limits=limits))
        budget = [limits.max_total_bytes - sum(m.size or 0 for m in top)]
        # archives already open around the top members: none in a folder, the zip itself else
        depth = 0 if not isinstance(source, bytes) and Path(source).is_dir() else 1
        yield list(_expand(top, depth, limits, budget, folder))


def _expand(
    members: list[Member],
    depth: int,
    limits: Limits,
    budget: list[int],
    scratch: Callable[[], Path],
) -> Iterator[Member]:
    for member in members:
        try:
            nested = is_zip(member.head(4))
        except IngestError as error:
            yield replace(member, error=error)
            continue
        if not nested:
            yield member
            continue
        try:
            inner = _nested_members(member, depth, limits, budget, scratch)
        except IngestError as error:
            yield replace(member, error=error)
            continue
        yield from _expand(inner, depth + 1, limits, budget, scratch)


def _nested_members(
    member: Member, depth: int, limits: Limits, budget: list[int], scratch: Callable[[], Path]
) -> list[Member]:
    """The members of a zip found inside a folder or a zip, checked like any upload's zip."""
    if depth + 1 > limits.max_depth:
        raise UnsafeInputError(
            member.display, f"a zip nested more than {limits.max_depth} archives deep: not opened"
        )
    path = member.file
    if path is None:  # a zip inside a zip: copied out (its size was counted with its archive)
        path = scratch() / f"{sum(1 for _ in scratch().iterdir())}.zip"
        with member.open() as src, path.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)
    inner = list(iter_members(path, display=member.display, limits=limits))
    budget[0] -= sum(m.size or 0 for m in inner)
    if budget[0] < 0:
        raise UnsafeInputError(
            member.display,
            f"the upload expands to more than the limit of {limits.max_total_bytes} bytes",
        )
    return inner


def _opener(path: Path) -> Callable[[], IO[bytes]]:
    def open_binary() -> IO[bytes]:
        return path.open("rb")

    return open_binary


def _dir_members(root: Path, label: str) -> Iterator[Member]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for fname in sorted(filenames):
            full = Path(dirpath) / fname
            if fname.startswith(".") or full.is_symlink():
                continue  # .DS_Store and links that could point outside the upload
            rel = full.relative_to(root).as_posix()
            yield Member(f"{label}/{rel}", rel, full.stat().st_size, _opener(full), full)


def _unsafe_name(name: str) -> bool:
    norm = name.replace("\\", "/")
    if norm.startswith("/") or (len(norm) > 1 and norm[1] == ":"):
        return True
    return ".." in PurePosixPath(norm).parts


def _zip_members(opener: Callable[[], IO[bytes]], label: str, limits: Limits) -> Iterator[Member]:
    try:
        with opener() as fh, zipfile.ZipFile(fh) as zf:
            infos = [i for i in zf.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise MalformedFileError(label, f"not a readable zip archive ({exc})") from exc
    if len(infos) > limits.max_members:
        raise UnsafeInputError(
            label, f"zip has {len(infos)} members, more than {limits.max_members}"
        )
    total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise UnsafeInputError(
                label, f"member path {info.filename!r} is absolute or leaves the archive"
            )
        total += info.file_size
        if info.file_size > limits.ratio_floor_bytes:
            ratio = info.file_size / max(info.compress_size, 1)
            if ratio > limits.max_ratio:
                raise UnsafeInputError(
                    label,
                    f"member {info.filename!r} expands {ratio:.0f}-fold "
                    f"(limit {limits.max_ratio:.0f}): refused as a zip bomb",
                )
    if total > limits.max_total_bytes:
        raise UnsafeInputError(
            label, f"zip expands to {total} bytes, more than the limit of {limits.max_total_bytes}"
        )
    # many small members can make a bomb that no single member reveals
    packed = sum(info.compress_size for info in infos)
    if total > limits.ratio_floor_bytes and total / max(packed, 1) > limits.max_ratio:
        raise UnsafeInputError(
            label,
            f"zip expands {total / max(packed, 1):.0f}-fold in total "
            f"(limit {limits.max_ratio:.0f}): refused as a zip bomb",
        )
    for info in sorted(infos, key=lambda i: i.filename):
        if PurePosixPath(info.filename).name.startswith(".") or "__MACOSX" in info.filename:
            continue
        yield Member(
            f"{label}!{info.filename}",
            info.filename,
            info.file_size,
            partial(_open_zip_member, opener, info, label),
        )


def _open_zip_member(
    opener: Callable[[], IO[bytes]], info: zipfile.ZipInfo, label: str
) -> IO[bytes]:
    fh = opener()
    try:
        zf = zipfile.ZipFile(fh)
        # ZipExtFile never yields more than the declared file_size and checks the CRC at the end
        member = _ClosingMember(fh, zf, zf.open(info), f"{label}!{info.filename}")
        return cast(IO[bytes], io.BufferedReader(member))
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        fh.close()  # RuntimeError: an encrypted member
        raise MalformedFileError(f"{label}!{info.filename}", f"cannot open member ({exc})") from exc


class _ClosingMember(io.RawIOBase):
    """A zip member stream that closes its archive with it and reports corruption as our error."""

    def __init__(self, archive: IO[bytes], zf: zipfile.ZipFile, fh: IO[bytes], display: str):
        self._archive, self._zf, self._fh, self._display = archive, zf, fh, display

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._fh.read(len(buffer))
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise MalformedFileError(self._display, f"zip member is corrupt ({exc})") from exc
        n = len(data)
        buffer[:n] = data
        return n

    def read(self, size: int = -1) -> bytes:
        try:
            return self._fh.read(size)
        except (zipfile.BadZipFile, EOFError, OSError, zlib.error) as exc:
            raise MalformedFileError(self._display, f"zip member is corrupt ({exc})") from exc

    def close(self) -> None:
        if not self.closed:
            self._fh.close()
            self._zf.close()
            self._archive.close()
        super().close()
