"""A plan as a pull-request comment: the summary first (always whole), then the details in a
collapsible block, truncated — never the summary — so the comment stays under GitHub's limit."""

from __future__ import annotations

import re

from xsync.plan.mask import masked
from xsync.plan.ops import IMPORT_KINDS, Operation, ResendInstances
from xsync.plan.plan import Plan
from xsync.render.safe import shown
from xsync.render.text import Painter, operation_lines, summary_line
from xsync.render.units import human_bytes, plural

MAX_CHARS = 60_000
_FENCE = "````"
_SYMBOL = re.compile(r"^(\s*)([+~-]) ")
_BACKTICKS = re.compile(r"`+")
_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>&~])")


def _fence_for(body: str) -> str:
    """A code fence longer than any run of backticks in `body`: a label holding "````" must not
    close the block and turn what follows into markdown of its own."""
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(body)), default=0)
    return "`" * max(len(_FENCE), longest + 1)


def _inline(text: str) -> str:
    """Text from outside (a label, XNAT's message) as literal markdown: one line, and every
    character markdown or HTML could act on backslash-escaped (no forged heading, table, link or tag)."""
    return _MARKDOWN_PUNCTUATION.sub(r"\\\1", shown(text))


def _code(text: str) -> str:
    """`text` as one inline code span, whatever backticks it holds."""
    text = shown(text)
    longest = max((len(m.group()) for m in _BACKTICKS.finditer(text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _diff_line(line: str) -> str:
    """Move the symbol to column 0 so GitHub's diff highlighting colours nested lines too."""
    return _SYMBOL.sub(lambda m: f"{m.group(2)}{m.group(1)} ", line, count=1)


_LABELS = {
    "rename_subject": "rename subject",
    "rename_session": "rename session",
    "create_subject": "create subject",
    "update_subject": "update subject",
    "import_session": "import session",
    "append_series": "append series",
    "resend_instances": "re-send series",
    "update_session": "update session",
    "update_scan": "update scan",
    "delete_subject": "**delete subject**",
    "delete_session": "**delete session**",
    "delete_scan": "**delete scan**",
}


def _kind_table(operations: tuple[Operation, ...]) -> list[str]:
    counts: dict[str, list[int]] = {}
    for op in operations:
        row = counts.setdefault(op.kind, [0, 0, 0])
        row[0] += 1
        if isinstance(op, IMPORT_KINDS):
            row[1] += op.local_instances if isinstance(op, ResendInstances) else op.instances
            row[2] += op.bytes
    lines = ["| action | count | files | size |", "|---|---:|---:|---:|"]
    for kind, label in _LABELS.items():
        if kind in counts:
            n, files, size = counts[kind]
            lines.append(f"| {label} | {n} | {files or ''} | {human_bytes(size) if size else ''} |")
    return lines


_ACTIONS = {"set": "set", "blank": "blanked", "remove": "removed", "route": "set to route the session"}


def _sending(operations: tuple[Operation, ...]) -> list[str]:
    """How the imports travel and which DICOM headers change on the way, by name only: a
    reviewer sees a remap without opening the details."""
    imports = [op for op in operations if isinstance(op, IMPORT_KINDS)]
    if not imports:
        return []
    edits = sorted({(h.attribute, h.action) for op in imports for h in op.headers})
    cstore = any(op.via == "cstore" for op in imports)
    if not edits and not cstore:
        return []  # the usual DICOM-zip import, nothing changed on the way
    line = "Imports are sent over DICOM C-STORE." if cstore else "Imports are sent to the import service."
    if edits:
        changed = ", ".join(f"`{name}` {_ACTIONS[action]}" for name, action in edits)
        line += f" Headers changed in the DICOM sent (local files unchanged): {changed}."
    return ["", line]


def render_markdown(plan: Plan, *, limit: int = MAX_CHARS, show_phi: bool = False) -> str:
    plan = plan if show_phi else masked(plan)
    head = [f"### xsync plan for {_code(plan.project)}", ""]
    if not plan.operations:
        head.append("**No changes.** The project matches the spec.")
    else:
        head.append(f"**{summary_line(plan.summary)}**")
        if plan.summary.delete:
            head += [
                "",
                "> [!WARNING]",
                f"> This plan deletes {plural(plan.summary.delete, 'object')} the spec marks `absent`; "
                "they are applied only with `xsync apply --allow-delete`.",
            ]
        head += ["", *_kind_table(plan.operations), *_sending(plan.operations)]
    bound = sum(1 for p in plan.pending if p.session)
    if plan.pending:
        head += ["", f"{plural(len(plan.pending), 'session')} waiting in the prearchive ({bound} bound by the spec)."]
    if plan.notes:
        head += ["", "Not checked:", "", *(f"- {_inline(n)}" for n in plan.notes)]
    if plan.unmanaged:
        head += ["", f"{plural(len(plan.unmanaged), 'object')} on the server that the spec does not mention "
                     "(never changed; listed in the details)."]  # fmt: skip
    summary = "\n".join(head) + "\n"
    if not plan.operations:
        return summary
    return summary + _details(plan, limit - len(summary))


def _details(plan: Plan, budget: int) -> str:
    paint = Painter(color=False)  # makes every line of an operation one line of printable text
    opening = f"\n<details><summary>Details ({plural(len(plan.operations), 'operation')})</summary>\n\n"
    closing = "\n</details>\n"
    body: list[str] = []
    used = len(opening) + len(closing) + 2 * len(_FENCE) + len("diff\n\n")
    count = 0
    for op in plan.operations:
        block = "\n".join(_diff_line(line[2:]) for line in operation_lines(op, paint)) + "\n\n"
        # keep room for the truncation note
        if used + len(block) + 200 > budget:
            break
        body.append(block)
        used += len(block)
        count += 1
    rest = len(plan.operations) - count
    note = ""
    if rest:
        note = (
            f"… {plural(rest, 'more operation')} not shown to keep this comment short; the whole plan is "
            "`xsync plan` (or `xsync show` of a plan saved with `-o`).\n"
        )
    unmanaged = ""
    if plan.unmanaged and not rest:
        listing = "".join(f"  {shown(str(a))}\n" for a in plan.unmanaged)
        if used + len(listing) + 200 <= budget:
            unmanaged = "# not in the spec (never changed):\n" + listing
    block = "".join(body) + unmanaged + note
    fence = _fence_for(block)
    return f"{opening}{fence}diff\n{block}{fence}{closing}"
