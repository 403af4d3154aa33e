"""Write a checked message straight to its wire bytes, without the email package's policy machinery.

``message.check_fields`` has already refused anything unsafe; this module only lays the
values out: headers in a fixed order (non-ASCII text as RFC 2047 encoded-words, long
ASCII text folded at spaces), then a multipart/alternative body, every line ending in CRLF and
every byte ASCII but an 8bit text part's (below). Profiling showed the EmailMessage route spending ~2.5 ms per digest in
header parsing and QP encoding; this route produces the same parsed-back content in a fraction.

Bodies go out with no transfer encoding to apply or undo whenever they can. The HTML part is
always 7bit in practice (non-ASCII becomes character references, and the compiled template's
lines are already short, see service.rendering.inline). The text part is 7bit when it is ASCII,
and 8bit (UTF-8 as it is) when the composer was told the relay announces 8BITMIME (RFC 6152;
``SmtpBackend.takes_8bit``); the SMTP backend then sends ``MAIL FROM:<...> BODY=8BITMIME``. The
bytes are signed as sent and no hop has a reason to convert them: 8bit is only used towards a
relay that said it takes it. What cannot go unencoded (non-ASCII text for a 7bit relay, a NUL, a
line over 998 octets that does not fold) is quoted-printable.

The body work is done on UTF-8 bytes, not str: the rendered strings hold non-ASCII (▲, 👍), and
CPython searches and splits such strings several times slower than bytes (measured: replacing
line ends in the 25 KB HTML, 31 µs as str, 3.5 µs as bytes).
"""

from __future__ import annotations

import binascii
import email.policy
import hashlib
from dataclasses import dataclass
from email.headerregistry import Address

from service.mail.message import MessageFields, SenderIdentity

CRLF = "\r\n"
# 7bit: any non-ASCII display name becomes RFC 2047 encoded-words.
_ADDRESS_POLICY = email.policy.default.clone(cte_type="7bit", linesep=CRLF)
MAX_LINE = 78  # RFC 5322's "SHOULD"; 998 is the hard limit
MAX_BODY_LINE = 998  # RFC 5322's "MUST", CRLF excluded
# 42 UTF-8 bytes -> 56 base64 chars -> a 68-char encoded-word: "Subject: " plus one fits in 78.
_EW_BYTES = 42
# binascii.b2a_qp writes a 77-char line when it encodes whitespace just before a line break;
# such a line gets a soft break before that final escape (_fix_overlong).


def encoded_words(value: str) -> list[str]:
    """``value`` as RFC 2047 base64 encoded-words, each holding whole characters."""
    data, words, start = value.encode(), [], 0
    while start < len(data):
        end = start + _EW_BYTES
        # Never cut inside a character: back off UTF-8 continuation bytes (10xxxxxx).
        while end < len(data) and data[end] & 0xC0 == 0x80:
            end -= 1
        words.append(_b_word(data[start:end]))
        start = end
    return words


def _b_word(data: bytes) -> str:
    return "=?utf-8?b?" + binascii.b2a_base64(data, newline=False).decode("ascii") + "?="


def _fold_ascii(name: str, value: str) -> str | None:
    """``Name: value`` folded before spaces so lines stay short, or None if a word is too long."""
    line = f"{name}: {value}"
    if len(line) <= MAX_LINE:
        return line
    lines: list[str] = []
    current = f"{name}:"
    # Folding inserts CRLF before existing whitespace, so unfolding gives the value back exactly.
    for index, word in enumerate(value.split(" ")):
        piece = " " + word
        if index > 0 and len(current) + len(piece) > MAX_LINE and current.strip():
            lines.append(current)
            current = ""
        current += piece
        if len(current) > 998 - 2:
            return None
    lines.append(current)
    return CRLF.join(lines)


def text_header(name: str, value: str) -> str:
    """An unstructured header (Subject): plain ASCII when possible, else encoded-words.

    ASCII that contains ``=?`` is encoded too, so a reader cannot mistake it for an
    encoded-word and decode it into something else.
    """
    if value.isascii() and "=?" not in value:
        folded = _fold_ascii(name, value)
        if folded is not None:
            return folded
    return f"{name}: " + f"{CRLF} ".join(encoded_words(value))


def address_header(name: str, address: Address) -> str:
    """A one-address header; the display name is quoted or encoded as RFC 5322/2047 need."""
    # Made once per sender, so the stdlib's careful address folding is affordable here.
    policy = _ADDRESS_POLICY
    return policy.header_factory(name, str(address)).fold(policy=policy).removesuffix(CRLF)


def qp_body(text: str) -> bytes:
    """UTF-8 quoted-printable with CRLF line ends, lines <= 76, ending in a line break."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    data = text.encode()
    if not data.endswith(b"\n"):
        data += b"\n"
    # b2a_qp keeps the line-break style of its input's first break; CRLF in gives CRLF soft breaks.
    body = binascii.b2a_qp(data.replace(b"\n", b"\r\n"), quotetabs=False, istext=True)
    if b"=20\r\n" in body or b"=09\r\n" in body:
        body = _fix_overlong(body)
    return body


def _fix_overlong(body: bytes) -> bytes:
    """A soft break before each final ``=20``/``=09`` that made its line 77 long. Found with
    bytes.find, not a regex over every line: the text part's "-- " always has one, and the
    regex scan cost more than b2a_qp itself (measured)."""
    cuts: list[int] = []
    for escape in (b"=20\r\n", b"=09\r\n"):
        at = body.find(escape)
        while at >= 0:
            if at - (body.rfind(b"\n", 0, at) + 1) == 74:
                cuts.append(at)
            at = body.find(escape, at + 1)
    pieces: list[bytes] = []
    last = 0
    for at in sorted(cuts):
        pieces += [body[last:at], b"=\r\n"]
        last = at
    pieces.append(body[last:])
    return b"".join(pieces)


def html_ascii(html: str) -> str:
    """Non-ASCII as numeric character references: the same page for a browser, 7bit on the wire.
    (Our templates put no non-ASCII in comments, ``<style>`` or ``<script>``, where they would not
    be decoded; feed text only ever lands in elements and attribute values.)"""
    return html if html.isascii() else html.encode("ascii", "xmlcharrefreplace").decode("ascii")


def has_long_line(data: bytes, limit: int = MAX_BODY_LINE) -> bool:
    """Whether a line of DATA (LF line ends, CR excluded from the count) passes LIMIT octets.

    Steps from one line end to the last within the next LIMIT+1 octets: a 25 KB body takes ~30
    ``rfind`` calls, each over the few octets back to a line end (a split into every line and a
    ``max`` over their lengths took 23 µs)."""
    start, size = 0, len(data)
    while size - start > limit:
        cut = data.rfind(b"\n", start, start + limit + 1)
        if cut < 0:
            return True
        start = cut + 1
    return False


def fold_at_spaces(text: str, limit: int = MAX_BODY_LINE) -> str | None:
    """Lines over ``limit`` broken at their last space within it (in HTML a line break is
    whitespace like the space it replaces); None when a line has no space to break at."""
    lines: list[str] = []
    for line in text.split("\n"):
        while len(line) > limit:
            cut = line.rfind(" ", 0, limit + 1)
            if cut <= 0:
                return None
            lines.append(line[:cut])
            line = line[cut + 1 :]
        lines.append(line)
    return "\n".join(lines)


def unencoded(text: str, *, html: bool, eight_bit: bool = False) -> tuple[bytes, str] | None:
    """``text`` as a body with CRLF line ends and its transfer encoding ("7bit", or "8bit" for
    non-ASCII when EIGHT_BIT), or None when it has to be quoted-printable: non-ASCII without
    EIGHT_BIT, a NUL, or a line over 998 octets (folded at a space in HTML; never in plain text,
    whose lines the reader sees as they are)."""
    data = text.encode("ascii", "xmlcharrefreplace") if html else text.encode()
    seven = data.isascii()
    if not (seven or eight_bit) or b"\x00" in data:
        return None
    if has_long_line(data):
        folded = fold_at_spaces(data.decode("ascii")) if html else None
        if folded is None:
            return None
        data = folded.encode("ascii")
    if not data.endswith(b"\n"):
        data += b"\n"
    return data.replace(b"\n", b"\r\n"), "7bit" if seven else "8bit"


def body_part(subtype: str, text: str, boundary: str, *, eight_bit: bool = False) -> bytes:
    """Part headers and body: unencoded when possible (see ``unencoded``), else quoted-printable."""
    return _part(subtype, text, boundary, eight_bit)[0]


def _part(subtype: str, text: str, boundary: str, eight_bit: bool) -> tuple[bytes, str]:
    """``body_part`` and the transfer encoding it chose."""
    if "\r" in text:  # check_fields has normalised already; callers that did not get it here
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    body = unencoded(text, html=subtype == "html", eight_bit=eight_bit)
    # QP never contains the boundary (it starts with "=_"); an unencoded body just might, in theory.
    if body is not None and boundary.encode("ascii") not in body[0]:
        data, cte = body
    else:
        data, cte = qp_body(html_ascii(text) if subtype == "html" else text), "quoted-printable"
    return _PART_HEAD.format(subtype=subtype, cte=cte).encode("ascii") + data, cte


@dataclass(frozen=True)
class SenderLines:
    """The header lines that are the same in every message from one sender, rendered once."""

    from_line: str
    reply_to_line: str | None
    domain: str

    @classmethod
    def of(cls, sender: SenderIdentity) -> SenderLines:
        reply_to = sender.reply_to
        return cls(
            from_line=address_header("From", sender.from_address),
            reply_to_line=address_header("Reply-To", reply_to) if reply_to is not None else None,
            domain=sender.domain,
        )


_PART_HEAD = 'Content-Type: text/{subtype}; charset="utf-8"' + CRLF + "Content-Transfer-Encoding: {cte}" + CRLF + CRLF


def render(lines: SenderLines, fields: MessageFields, *, eight_bit: bool = False) -> bytes:
    """The message as sent over SMTP, in the header order the EmailMessage route used. With
    EIGHT_BIT (the relay announced 8BITMIME) a non-ASCII text part goes as 8bit."""
    head = [lines.from_line, f"To: {fields.to}", text_header("Subject", fields.subject)]
    head += [f"Date: {fields.date}", f"Message-ID: {fields.message_id}"]
    if lines.reply_to_line is not None:
        head.append(lines.reply_to_line)
    if fields.list_unsubscribe is not None:
        head.append(f"List-Id: {fields.list_id}")
        # RFC 2369: folded only between <URI> items, never encoded (clients would not decode it).
        head.append("List-Unsubscribe: " + f",{CRLF} ".join(fields.list_unsubscribe.split(", ")))
        head.append("List-Unsubscribe-Post: List-Unsubscribe=One-Click")
    head.append(f"Feedback-ID: {fields.feedback_id}")
    head.append("Auto-Submitted: auto-generated")
    if fields.delivery_id is not None:
        head.append(f"X-Papermail-Delivery: {fields.delivery_id}")
    # QP output never contains "=_" (an "=" is always followed by hex or a line break), so a
    # boundary starting with it cannot occur in a QP part (body_part checks the 7bit ones);
    # deriving it from the Message-ID keeps output reproducible.
    boundary = "=_pm." + hashlib.sha256(fields.message_id.encode()).hexdigest()[:24]
    head.append("MIME-Version: 1.0")
    head.append(f'Content-Type: multipart/alternative; boundary="{boundary}"')
    text, text_cte = _part("plain", fields.text, boundary, eight_bit)
    if text_cte == "8bit":
        # RFC 2045 6.4: a multipart holding 8bit data is itself 8bit (its default label is 7bit).
        head.append("Content-Transfer-Encoding: 8bit")
    delimiter = f"--{boundary}{CRLF}".encode("ascii")
    return b"".join(
        (
            (CRLF.join(head) + CRLF + CRLF).encode("ascii"),
            delimiter,
            text,
            CRLF.encode("ascii"),
            delimiter,
            _part("html", fields.html, boundary, False)[0],
            f"{CRLF}--{boundary}--{CRLF}".encode("ascii"),
        )
    )
