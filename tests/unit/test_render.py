"""Renderers: markdown stays under the comment limit without losing its summary; colour only
when asked; the CLI's colour decision."""

from __future__ import annotations

import io

from xsync.cli.output import use_color
from xsync.model.address import Address
from xsync.plan.ops import FieldChange, UpdateScan
from xsync.plan.plan import Plan
from xsync.render.markdown import MAX_CHARS, render_markdown
from xsync.render.text import render_text, summary_line


def big_plan(n: int) -> Plan:
    ops = tuple(
        UpdateScan(
            address=Address("P", f"sub{i // 20:04d}", f"ses{i // 10:05d}", str(i % 10 + 1)),
            session_id=f"XNAT_E{i // 10:05d}",
            xsi_type="xnat:mrScanData",
            changes=(FieldChange(name="type", before="T1w_MPR1", after="T1w", source="rule 1"),),
        )
        for i in range(n)
    )
    return Plan(
        xsync_version="t", project="P", server="http://x", spec_digest="s", inventory_digest="i",
        remote_fingerprint="f", operations=ops,
    )  # fmt: skip


def test_markdown_truncates_details_never_the_summary() -> None:
    plan = big_plan(5000)
    md = render_markdown(plan)
    assert len(md) < MAX_CHARS
    assert f"**{summary_line(plan.summary)}**" in md
    assert "| update scan | 5000 |" in md
    assert "more operations not shown" in md and "`xsync show` of a plan saved with `-o`" in md
    assert md.rstrip().endswith("</details>")  # the collapsible block is closed


def test_small_markdown_is_whole() -> None:
    md = render_markdown(big_plan(3))
    assert "not shown" not in md and md.count("~ scan") == 3


def test_colour_only_when_asked() -> None:
    plan = big_plan(1)
    assert "\x1b[" not in render_text(plan)
    coloured = render_text(plan, color=True)
    assert "\x1b[33m  ~ scan 1\x1b[0m" in coloured


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_decision() -> None:
    assert use_color(_Tty(), {}) is True
    assert use_color(io.StringIO(), {}) is False  # not a terminal
    assert use_color(_Tty(), {"NO_COLOR": "1"}) is False
    assert use_color(_Tty(), {}, disabled=True) is False
    assert use_color(io.StringIO(), {"FORCE_COLOR": "1"}) is True
    assert use_color(_Tty(), {"TERM": "dumb"}) is False
