"""Text from outside xsync made safe to print: the one place that neutralises it.

Labels, IDs and values read from the server, DICOM headers, file names, lock records and XNAT's
error pages may hold terminal escape sequences (`ESC [ 2 J`, an OSC title, an 8-bit CSI
U+009B), a CR or LF that forges a line of output (or of a pull-request comment), or a Unicode
bidi override that makes a line read differently from what it holds. Every such character —
everything `str.isprintable()` refuses: C0 and C1 controls, DEL, format characters (bidi
controls, zero-width characters), line and paragraph separators, lone surrogates, unassigned
code points — is shown as a visible escape (`\\x1b`, `\\n`, `\\u202e`), so one value is one
piece of one line, and the terminal only ever receives characters that it draws.

The one exception kept as is: the plain space. A backslash is printed as itself, so
`a\\x1bb` may read like an escaped ESC; a human sees the difference only in JSON output, which
is the exact form.
"""

from __future__ import annotations


def _escape(c: str) -> str:
    """`\\n`, `\\x1b`, `\\u202e`, `\\U000e0001`: Python's own spelling, the same in every output."""
    return repr(c)[1:-1]


def shown(text: str) -> str:
    """`text` as one printable line: every non-printable character escaped (see the module)."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else _escape(c) for c in text)


def shown_lines(text: str) -> str:
    """A block of our own lines (a rendered tree, a report) whose content came from outside:
    each line made safe, our newlines kept."""
    return "\n".join(shown(line) for line in text.split("\n"))


def json_escaped(text: str) -> str:
    """JSON written with `ensure_ascii=False` (readable names stay readable) with every
    non-printable character inside it written as a `\\uXXXX` escape — still the same JSON
    value, but safe on a terminal. json.dumps escapes only U+0000..U+001F itself; C1 controls,
    bidi overrides and U+2028 pass through raw, and a lone surrogate could not even be encoded."""
    return "".join(_json_escape(c) if not c.isprintable() and c != "\n" else c for c in text)


def _json_escape(c: str) -> str:
    code = ord(c)
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    code -= 0x10000  # outside the BMP: a UTF-16 surrogate pair, as JSON spells it
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
