"""Reading untrusted XML without ever expanding it.

Exports arrive from patients' phones and from anyone holding an upload link, so every XML file is
treated as hostile until its prolog (everything before the document element) has been read:

* any ``<!ENTITY`` declaration (billion laughs, external entities) and any ``SYSTEM``/``PUBLIC``
  identifier (a DTD or entity fetched from a file or URL) refuses the file with UnsafeInputError;
* the DOCTYPE is then blanked before lxml sees the bytes (its newlines kept so line numbers stay
  true), so lxml never reads a DTD at all. This also reads HealthKit Export Version 12 files,
  whose internal DTD is broken (an ``<!ATTLIST`` without its ``>``);
* characters XML 1.0 forbids (``\\x0b`` in old Apple exports) are deleted while streaming;
* lxml runs with ``resolve_entities=False, no_network=True, load_dtd=False`` and without
  ``huge_tree``, as the last line of defence.

Any syntax error becomes a MalformedFileError naming the file and the line.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any, NoReturn

import numpy as np
from lxml import etree

from ingest.errors import MalformedFileError, UnsafeInputError

#: a prolog longer than this is not an export; it is refused before lxml reads any of it
PROLOG_LIMIT = 1024 * 1024

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
# C0 controls other than tab, newline and carriage return: never legal in XML 1.0, and in
# UTF-8 these bytes only ever stand for themselves, so deleting them cannot split a character
_FORBIDDEN_BYTES = bytes(b for b in range(32) if b not in (9, 10, 13))
_COMMENT_OR_SUBSET_END = re.compile(rb"<!--.*?-->|\]\s*>", re.DOTALL)
_COMMENT = re.compile(rb"<!--.*?-->", re.DOTALL)
_ENTITY_DECL = re.compile(rb"<!\s*ENTITY", re.IGNORECASE)
_EXTERNAL_ID = re.compile(rb"\b(SYSTEM|PUBLIC)\b")
_ROOT_TAG = re.compile(rb"<([A-Za-z_:][-\w.:]*)")


@dataclass(frozen=True)
class Prolog:
    """What comes before the document element: its name, and the byte span of the DOCTYPE."""

    root: str
    doctype: tuple[int, int] | None


def read_prolog(head: bytes, display: str) -> Prolog:
    """Check the start of an XML file (at least PROLOG_LIMIT bytes of it, or all of it) and
    return its prolog, or refuse the file: UnsafeInputError for entity declarations, external
    identifiers or an oversized prolog, MalformedFileError for anything that is not XML."""
    if head.startswith(_UTF16_BOMS):
        raise MalformedFileError(display, "XML is UTF-16 encoded; exports are UTF-8")
    pos = len(_UTF8_BOM) if head.startswith(_UTF8_BOM) else 0
    doctype: tuple[int, int] | None = None
    while True:
        while pos < len(head) and head[pos] in b" \t\r\n":
            pos += 1
        if head.startswith(b"<?", pos):
            pos = _end_of(head, b"?>", pos, display, "processing instruction")
        elif head.startswith(b"<!--", pos):
            pos = _end_of(head, b"-->", pos, display, "comment")
        elif head.startswith(b"<!DOCTYPE", pos):
            end = _doctype_end(head, pos, display)
            doctype = (pos, end)
            pos = end
        elif (root := _ROOT_TAG.match(head, pos)) is not None:
            return Prolog(root.group(1).decode("ascii", "replace"), doctype)
        elif pos >= len(head):
            if len(head) >= PROLOG_LIMIT:
                raise UnsafeInputError(
                    display, f"no document element in the first {PROLOG_LIMIT} bytes: refused"
                )
            raise MalformedFileError(display, "no XML document element found (empty or cut off)")
        else:
            line = head.count(b"\n", 0, pos) + 1
            raise MalformedFileError(
                display,
                "not XML: unexpected text before the document element",
                record=f"line {line}",
            )


def _end_of(head: bytes, token: bytes, pos: int, display: str, what: str) -> int:
    end = head.find(token, pos)
    if end < 0:
        _unterminated(head, display, what)
    return end + len(token)


def _unterminated(head: bytes, display: str, what: str) -> NoReturn:
    if len(head) >= PROLOG_LIMIT:
        raise UnsafeInputError(
            display, f"XML prolog ({what}) runs past the first {PROLOG_LIMIT} bytes: refused"
        )
    raise MalformedFileError(display, f"unterminated {what} before the document element")


def _doctype_end(head: bytes, start: int, display: str) -> int:
    """End of the DOCTYPE declaration starting at ``start``; refuses entities and external ids."""
    bracket, gt = head.find(b"[", start), head.find(b">", start)
    if gt < 0:
        _unterminated(head, display, "DOCTYPE")
    if bracket < 0 or gt < bracket:
        declaration, end = head[start : gt + 1], gt + 1
    else:
        # the internal subset ends at the first "]>" outside a comment
        for match in _COMMENT_OR_SUBSET_END.finditer(head, bracket):
            if not match.group().startswith(b"<!--"):
                declaration, end = head[start : match.end()], match.end()
                break
        else:
            _unterminated(head, display, "DOCTYPE")
    text = _COMMENT.sub(b"", declaration)
    newlines = head.count(b"\n", 0, start)
    line = f"line {newlines + 1}"
    if _ENTITY_DECL.search(text):
        raise UnsafeInputError(
            display,
            "the DOCTYPE declares entities (<!ENTITY>), as entity-expansion (billion laughs) "
            "and external-entity attacks do; refused without expanding them",
            record=line,
        )
    if _EXTERNAL_ID.search(text):
        raise UnsafeInputError(
            display,
            "the DOCTYPE points at an external DTD or entity (a SYSTEM or PUBLIC identifier); "
            "refused without fetching it",
            record=line,
        )
    return end


class ByteProgress:
    """Reports bytes read to a callback, each byte once even if the file is read twice."""

    def __init__(self, callback: Callable[[int], None] | None):
        self._callback = callback
        self._reported = 0

    def reached(self, position: int) -> None:
        if self._callback is not None and position > self._reported:
            self._callback(position - self._reported)
            self._reported = position


#: an empty element put between the newlines of dropped records, so that no text node grows
#: past what lxml reads without huge-tree mode (10 MB): Apple writes records grouped by type,
#: and a decade of heart rate is tens of millions of lines in a row that nobody asked for
GAP_TAG = "phenowatch-gap"
GAP = f"<{GAP_TAG}/>".encode()
MAX_BLANK_RUN = 1_000_000


class SafeXmlStream:
    """A binary stream for lxml: the DOCTYPE blanked to its newlines, forbidden control
    characters deleted, bytes read reported to ``progress`` and lines counted for errors."""

    #: bytes of the file filtered at once when records are skipped (lxml asks for 32 KiB)
    READ_AHEAD = 64 * 1024

    def __init__(
        self,
        raw: IO[bytes],
        prolog: Prolog,
        progress: ByteProgress,
        *,
        keep_record_types: Iterable[str] | None = None,
        max_blank_run: int = MAX_BLANK_RUN,
    ):
        self._raw = raw
        self._blank = prolog.doctype
        self._progress = progress
        self._pos = 0
        self.lines_read = 1
        self._skip = (
            None if keep_record_types is None else _RecordSkipper(keep_record_types, max_blank_run)
        )
        self._carry = b""
        self._out = b""

    def read(self, size: int = -1) -> bytes:
        if self._skip is None:
            data = self._read(size)
            self.lines_read += data.count(b"\n")
            return data.translate(None, _FORBIDDEN_BYTES)
        # Drop the <Record> elements nobody asked for before lxml sees them, instead of building
        # and clearing an element per heart-rate sample. Each dropped
        # element leaves its newlines, so lxml's line numbers stay those of the file. Only the
        # text before the last "<Record" of the buffer is filtered; the rest waits for more.
        # Never more than ``size`` bytes at once: lxml refuses to buffer over 10 MB.
        while not self._out:
            data = self._read(size if size < 0 else max(size, self.READ_AHEAD))
            buffer = self._carry + data
            cut = buffer.rfind(b"<Record") if data else len(buffer)
            if cut <= 0:
                self._carry = buffer
                if not data:
                    return b""
                continue
            region, self._carry = buffer[:cut], buffer[cut:]
            kept, newlines = self._skip.sub(region)
            self.lines_read += newlines
            # forbidden characters are deleted from what is kept only: far less to go through
            self._out = kept.translate(None, _FORBIDDEN_BYTES)
        if size < 0 or len(self._out) <= size:
            kept, self._out = self._out, b""
        else:
            kept, self._out = self._out[:size], self._out[size:]
        return kept

    def _read(self, size: int) -> bytes:
        """The next bytes of the file, the DOCTYPE blanked; progress reported."""
        data = self._raw.read(size)
        start, self._pos = self._pos, self._pos + len(data)
        self._progress.reached(self._pos)
        if self._blank is not None and start < self._blank[1]:
            data = self._blank_doctype(data, start)
        return data

    def _blank_doctype(self, data: bytes, start: int) -> bytes:
        assert self._blank is not None
        lo, hi = max(self._blank[0] - start, 0), min(self._blank[1] - start, len(data))
        if lo >= hi:
            return data
        return data[:lo] + b"\n" * data.count(b"\n", lo, hi) + data[hi:]


_RECORD = b'<Record type="'
_BEATS_OPEN = b"<HeartRateVariabilityMetadataList>"
_BEATS_CLOSE = b"</HeartRateVariabilityMetadataList>"
_BEAT = b"<InstantaneousBeatsPerMinute "
_LT, _GT, _SLASH, _NEWLINE = b"<>/\n"


class _RecordSkipper:
    """Drops whole <Record> elements whose type is not kept, leaving their newlines (with a
    ``GAP`` element every ``MAX_BLANK_RUN`` of them), and the beat lists of the HRV records
    that are kept (nobody reads them; their newlines stay too).

    A record of an unwanted type is dropped only when it is plainly one element and nothing
    else. Apple writes records grouped by type, so most regions of the file hold nothing but
    records nobody asked for; such a region is dropped whole when a scan in C shows that every
    ``<`` in it opens a ``<Record type="…"`` of an unwanted type, closes one or opens a
    metadata entry, that the tags that are not self-closed are exactly twice the closings, and
    that it ends with a closed element. Other regions go record by record: the text is split at
    each ``<Record type="``, and a piece of an unwanted type is dropped when it has no other
    ``<Record`` inside and ends with ``</Record>`` or is a self-closed tag. Anything unusual
    (another attribute order, a Correlation or Workout, broken markup) is left for lxml to read
    and judge.
    """

    def __init__(self, keep: Iterable[str], max_blank_run: int = MAX_BLANK_RUN):
        self._keep = tuple(t.encode() + b'"' for t in keep)
        kept = b"|".join(re.escape(k) for k in self._keep)
        unwanted = rb"(?!" + kept + rb")" if kept else b""
        #: a tag other than an unwanted record, its closing or a metadata entry
        self._odd_tag = re.compile(rb'<(?!Record type="' + unwanted + rb"|/Record>|MetadataEntry )")
        self._max_run = max_blank_run
        self._run = 0  # newlines written since the last element

    def sub(self, region: bytes) -> tuple[bytes, int]:
        """What lxml is to see of ``region`` (which starts at a ``<Record`` or at the start of
        the file, and ends before one), and the newlines ``region`` holds."""
        newlines = self._newlines_if_all_dropped(region)
        if newlines is not None:
            return self._blank(newlines), newlines
        return _without_beats(self._record_by_record(region)), region.count(b"\n")

    def _newlines_if_all_dropped(self, region: bytes) -> int | None:
        if not region.startswith(_RECORD) or self._odd_tag.search(region) is not None:
            return None
        body = region.rstrip()
        if not (body.endswith(b"</Record>") or body.endswith(b"/>")):
            return None
        text = np.frombuffer(region, np.uint8)
        opening = text == _LT
        self_closed = np.count_nonzero((text[:-1] == _SLASH) & (text[1:] == _GT))
        closings = np.count_nonzero(opening[:-1] & (text[1:] == _SLASH))  # only </Record> here
        if np.count_nonzero(opening) - self_closed != 2 * closings:
            return None
        return int(np.count_nonzero(text == _NEWLINE))

    def _blank(self, newlines: int) -> bytes:
        parts: list[bytes] = []
        while self._run + newlines >= self._max_run:
            room = self._max_run - self._run
            parts += (b"\n" * room, GAP)
            newlines -= room
            self._run = 0
        self._run += newlines
        parts.append(b"\n" * newlines)
        return b"".join(parts)

    def _record_by_record(self, region: bytes) -> bytes:
        pieces = region.split(_RECORD)
        out = [pieces[0]]
        keep = self._keep
        for piece in pieces[1:]:
            if not keep or not piece.startswith(keep):
                body = piece.rstrip()
                if b"<Record" not in body and (
                    body.endswith(b"</Record>")
                    or (body.endswith(b"/>") and body.find(b">") == len(body) - 1)
                ):
                    out.append(self._blank(piece.count(b"\n")))
                    continue
            self._run = 0
            out.append(_RECORD)
            out.append(piece)
        return b"".join(out)


def _without_beats(text: bytes) -> bytes:
    """``text`` with each HRV beat list that holds only self-closed beats blanked to its
    newlines (nights read HRV's figure, never its beats)."""
    start = text.find(_BEATS_OPEN)
    if start < 0:
        return text
    parts: list[bytes] = []
    done = 0
    while start >= 0:
        end = text.find(_BEATS_CLOSE, start)
        if end < 0:
            break
        end += len(_BEATS_CLOSE)
        beats = text.count(_BEAT, start, end)
        if text.count(b"<", start, end) == beats + 2 and text.count(b"/>", start, end) == beats:
            parts += (text[done:start], b"\n" * text.count(b"\n", start, end))
            done = end
        start = text.find(_BEATS_OPEN, end)
    parts.append(text[done:])
    return b"".join(parts)


def iterparse(
    stream: SafeXmlStream, tags: tuple[str, ...], *, recover: bool = False
) -> Iterator[tuple[str, Any]]:
    """lxml's iterparse over ``stream`` (end events of ``tags``), hardened: no entities, no
    network, no DTD, no huge-tree mode. ``recover`` tolerates broken markup; callers must then
    check ``error_log`` of the returned parser themselves."""
    return etree.iterparse(
        stream,
        events=("end",),
        tag=tags,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        recover=recover,
        remove_comments=True,
        remove_pis=True,
    )


def syntax_error(
    display: str, exc: etree.XMLSyntaxError, parser_log: Any, lines_read: int
) -> MalformedFileError:
    """A MalformedFileError for an lxml syntax error, with the line where the error happened.
    ``parser_log`` is the parser's own error log (``exc.error_log`` is the thread's, and holds
    errors of earlier files too)."""
    message, line = exc.msg, exc.lineno
    if not line:
        # lxml reports some errors (an undefined entity, for one) as "no element found" with no
        # position; the parser's log still has the real error and its line
        located = [entry for entry in parser_log if entry.line]
        if located:
            message, line = located[0].message, located[0].line
    return malformed(display, message, line, lines_read)


def malformed(display: str, message: str, line: int | None, lines_read: int) -> MalformedFileError:
    message = re.sub(r",? line \d+, column \d+.*$", "", message).strip() or "broken markup"
    if line:
        return MalformedFileError(
            display, f"XML is not well-formed: {message}", record=f"line {line}"
        )
    return MalformedFileError(
        display, f"XML is not well-formed: {message}", record=f"at or before line {lines_read}"
    )
