"""A text part encoded once, with only the lines that carry a recipient's links encoded per email.

The choice of transfer encoding and the encoded bytes are exactly what `EmailMessage.set_content`
(email.contentmanager._encode_text) gives for the personalised text: the same rules, applied to
lines encoded once and cached, plus the few lines with a recipient's links encoded on their own.
Quoted-printable encodes each line on its own, so a line's encoding never depends on another;
base64 runs across lines, so only what follows the first personal line is encoded per email.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping
from email import quoprimime
from email.policy import EmailPolicy

SNIFF_LINES = 10  # _encode_text decides between quoted-printable and base64 on the first ten lines
# Quoted-printable, byte by byte (of text read as latin-1): quoprimime's body map.
_QP_MAP = [f"={c:02X}" if quoprimime.body_check(c) else chr(c) for c in range(256)]
_QP_PLAIN = re.compile(r"[\t\x20-\x7e]*")  # only "=" needs quoting


class Body:
    """One text part (plain or HTML) whose lines may hold link markers."""

    def __init__(self, text: str, marks: tuple[bytes, ...], policy: EmailPolicy) -> None:
        self.max_line = policy.max_line_length or 0
        self.cte_8bit = policy.cte_type == "8bit"
        encoded = text.encode("utf-8")
        self.lines = encoded.splitlines()
        self.ends_with_break = encoded.endswith((b"\n", b"\r"))
        self.personal = {
            index: line
            for index, line in enumerate(self.lines)
            if any(mark in line for mark in marks)
        }
        static = [line for index, line in enumerate(self.lines) if index not in self.personal]
        self.static_longest = max((len(line) for line in static), default=0)
        self.static_ascii = all(line.isascii() for line in static)
        self.raw = b"\n".join(self.lines)  # to check that a boundary is not in it
        self._split = re.compile(b"(" + b"|".join(re.escape(mark) for mark in marks) + b")")
        self._sniffed: str | None = None
        self._qp: tuple[list[bytes], dict[int, list[str | bytes]]] | None = None
        self._base64: tuple[bytes, bytes, int] | None = None

    def lines_for(self, links: Mapping[bytes, bytes]) -> dict[int, bytes]:
        """The personal lines with these links in place of their markers."""
        personal = {}
        for index, line in self.personal.items():
            for mark, link in links.items():
                line = line.replace(mark, link)
            personal[index] = line
        return personal

    def encoding(self, personal: Mapping[int, bytes]) -> str:
        """The transfer encoding set_content would choose for the personalised text."""
        longest = max([self.static_longest, *(len(line) for line in personal.values())])
        if longest <= self.max_line:
            if self.static_ascii and all(line.isascii() for line in personal.values()):
                return "7bit"
            if self.cte_8bit:
                return "8bit"
        if any(index < SNIFF_LINES for index in personal):
            return self._sniff(self._merge(personal)[:SNIFF_LINES])
        if self._sniffed is None:
            self._sniffed = self._sniff(self.lines[:SNIFF_LINES])
        return self._sniffed

    def _sniff(self, lines: list[bytes]) -> str:
        sniff = b"\n".join(lines) + b"\n"
        as_qp = quoprimime.body_encode(sniff.decode("latin-1"), self.max_line)
        return "base64" if len(as_qp) > len(binascii.b2a_base64(sniff)) else "quoted-printable"

    def _merge(self, personal: Mapping[int, bytes]) -> list[bytes]:
        lines = list(self.lines)
        for index, line in personal.items():
            lines[index] = line
        return lines[: self._count(personal)]

    def _count(self, personal: Mapping[int, bytes]) -> int:
        # A last line left empty (its link was "") is no line at all once the text is split
        # again, as set_content does: "a\nM" becomes "a\n", one line; but "a\nM\n" becomes
        # "a\n\n", still two.
        last = len(self.lines) - 1
        dropped = personal.get(last) == b"" and not self.ends_with_break
        return last if dropped else last + 1

    def wire(self, cte: str, personal: Mapping[int, bytes], links: Mapping[bytes, bytes]) -> bytes:
        """The encoded part body as the generator writes it: CRLF line ends, a final CRLF."""
        if cte in ("7bit", "8bit"):
            return b"\r\n".join(self._merge(personal)) + b"\r\n"
        if cte == "quoted-printable":
            return self._wire_qp(personal, links)
        return self._wire_base64(personal)

    def _wire_qp(self, personal: Mapping[int, bytes], links: Mapping[bytes, bytes]) -> bytes:
        static, segments = self._static_qp()
        encoded = list(static)
        quoted = {mark: _qp_quote(link) for mark, link in links.items()}
        for index in personal:
            pieces = segments[index]
            line = "".join(quoted[p] if isinstance(p, bytes) else p for p in pieces)
            encoded[index] = _qp_wrap(line, self.max_line).encode("ascii")
        return b"\r\n".join(encoded[: self._count(personal)]) + b"\r\n"

    def _static_qp(self) -> tuple[list[bytes], dict[int, list[str | bytes]]]:
        """The encoded lines without links, and the lines with links in quoted pieces and marks.

        Quoting is byte by byte, so a line's quoted pieces joined are the quoted line: only the
        links are quoted per email, then the line is wrapped.
        """
        if self._qp is None:
            static = [
                b"" if index in self.personal else _qp_line(line, self.max_line)
                for index, line in enumerate(self.lines)
            ]
            segments: dict[int, list[str | bytes]] = {
                index: [
                    piece if number % 2 else _qp_quote(piece)
                    for number, piece in enumerate(self._split.split(line))
                ]
                for index, line in self.personal.items()
            }
            self._qp = (static, segments)
        return self._qp

    def _wire_base64(self, personal: Mapping[int, bytes]) -> bytes:
        if self._base64 is None:
            # Everything before the first personal line, cut at a whole base64 line, is shared.
            first = min(self.personal, default=len(self.lines))
            head = b"".join(line + b"\n" for line in self.lines[:first])
            width = self.max_line // 4 * 3
            cut = len(head) // width * width
            self._base64 = (_base64(head[:cut], width), head[cut:], first)
        encoded, rest, first = self._base64
        tail = b"".join(line + b"\n" for line in self._merge(personal)[first:])
        return encoded + _base64(rest + tail, self.max_line // 4 * 3)


def _qp_line(line: bytes, max_line: int) -> bytes:
    # One line at a time gives the same result as the whole body: body_encode quotes every
    # byte but CR and LF before it splits, and the lines have neither.
    return quoprimime.body_encode(line.decode("latin-1"), max_line, "\r\n").encode("ascii")


def _qp_quote(data: bytes) -> str:
    text = data.decode("latin-1")
    return text.replace("=", "=3D") if _QP_PLAIN.fullmatch(text) else text.translate(_QP_MAP)


def _qp_wrap(line: str, max_line: int, eol: str = "\r\n") -> str:
    """quoprimime.body_encode's wrapping of one line already quoted (its loop, for one line)."""
    pieces = []
    start = 0
    last_start = len(line) - 1 - max_line
    while start <= last_start:
        stop = start + max_line - 1
        # Never split an escape sequence.
        if line[stop - 2] == "=":
            pieces.append(line[start : stop - 1])
            start = stop - 2
        elif line[stop - 1] == "=":
            pieces.append(line[start:stop])
            start = stop - 1
        else:
            pieces.append(line[start:stop] + "=")
            start = stop
    if line and line[-1] in " \t":
        # Whitespace at the end of a line is quoted, or protected by a soft break.
        room = start - last_start
        if room >= 3:
            end = quoprimime.quote(line[-1])
        elif room == 2:
            end = line[-1] + "=" + eol
        else:
            end = "=" + eol + quoprimime.quote(line[-1])
        pieces.append(line[start:-1] + end)
    else:
        pieces.append(line[start:])
    return eol.join(pieces)


def _base64(data: bytes, width: int) -> bytes:
    lines = [binascii.b2a_base64(data[i : i + width]) for i in range(0, len(data), width)]
    return b"".join(lines).replace(b"\n", b"\r\n")
