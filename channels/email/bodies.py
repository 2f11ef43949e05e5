"""A text part encoded once, with only the lines that carry a recipient's links encoded per email.

The choice of transfer encoding and the encoded bytes are exactly what `EmailMessage.set_content`
(email.contentmanager._encode_text) gives for the personalised text: the same rules, applied to
lines encoded once and cached, plus the few lines with a recipient's links encoded on their own.
Quoted-printable encodes each line on its own, so a line's encoding never depends on another;
base64 runs across lines, so only what follows the first personal line is encoded per email.
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping
from email import quoprimime
from email.policy import EmailPolicy

SNIFF_LINES = 10  # _encode_text decides between quoted-printable and base64 on the first ten lines


class Body:
    """One text part (plain or HTML) whose lines may hold link markers."""

    def __init__(self, text: str, marks: tuple[bytes, ...], policy: EmailPolicy) -> None:
        self.max_line = policy.max_line_length or 0
        self.cte_8bit = policy.cte_type == "8bit"
        self.lines = text.encode("utf-8").splitlines()
        self.personal = {
            index: line
            for index, line in enumerate(self.lines)
            if any(mark in line for mark in marks)
        }
        static = [line for index, line in enumerate(self.lines) if index not in self.personal]
        self.static_longest = max((len(line) for line in static), default=0)
        self.static_ascii = all(line.isascii() for line in static)
        self.raw = b"\n".join(self.lines)  # to check that a boundary is not in it
        self._sniffed: str | None = None
        self._qp: list[bytes] | None = None
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
        # again, as set_content does: "a\nM" becomes "a\n", one line.
        last = len(self.lines) - 1
        return last if personal.get(last) == b"" else last + 1

    def wire(self, cte: str, personal: Mapping[int, bytes]) -> bytes:
        """The encoded part body as the generator writes it: CRLF line ends, a final CRLF."""
        if cte in ("7bit", "8bit"):
            return b"\r\n".join(self._merge(personal)) + b"\r\n"
        if cte == "quoted-printable":
            encoded = list(self._static_qp())
            for index, line in personal.items():
                encoded[index] = _qp_line(line, self.max_line)
            return b"\r\n".join(encoded[: self._count(personal)]) + b"\r\n"
        return self._wire_base64(personal)

    def _static_qp(self) -> list[bytes]:
        if self._qp is None:
            self._qp = [
                b"" if index in self.personal else _qp_line(line, self.max_line)
                for index, line in enumerate(self.lines)
            ]
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


def _base64(data: bytes, width: int) -> bytes:
    lines = [binascii.b2a_base64(data[i : i + width]) for i in range(0, len(data), width)]
    return b"".join(lines).replace(b"\n", b"\r\n")
