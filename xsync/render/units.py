"""Human-readable quantities shared by the renderers."""

from __future__ import annotations


def human_bytes(n: int) -> str:
    """Decimal units, as `Plan: ... (340 files, 1.2 GB)`."""
    if n < 1000:
        return f"{n} B"
    value = float(n)
    for unit in ("KB", "MB", "GB", "TB"):
        value /= 1000
        if value < 1000 or unit == "TB":
            return f"{value:.1f} {unit}"
    raise AssertionError("unreachable")


def plural(n: int, word: str, many: str | None = None) -> str:
    """`1 file`, `2 files`, `20,000 files`: the one pluralisation of all output."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"
