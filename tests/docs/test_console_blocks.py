"""The docs test's reading of console blocks, on its own: what counts as a command, its output,
its directives, and which shown lines a real output fails."""

from __future__ import annotations

from pathlib import Path

from tests.docs.console_blocks import console_blocks, unmatched

PAGE = """# A page

<!-- doctest: emulator=CCF_TEST setup=held_lock -->
```console
$ xsync plan --spec a.yaml \\
    --server http://127.0.0.1:8080
read CCF_TEST from http://127.0.0.1:8080 in 3 requests (0.01 s)
...
Plan: 1 to create.
$ xsync validate
error: the spec has 1 error
```

- a list item:

  ```console
  $ xsync show plan.json --check
    on the server: subject sub1 appeared
  ```

```bash
$ not a console block
```
"""


def test_commands_their_output_and_directives(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(PAGE)
    first, second = console_blocks(page)
    assert first.directives == {"emulator": "CCF_TEST", "setup": "held_lock"}
    plan, validate = first.commands
    assert plan.text == "xsync plan --spec a.yaml --server http://127.0.0.1:8080"
    assert plan.output[0].startswith("read CCF_TEST") and plan.line == 5
    assert not plan.expects_error and validate.expects_error
    (show,) = second.commands
    assert show.output == ("  on the server: subject sub1 appeared",)  # the fence's indent only
    assert second.directives == {}


def test_shown_lines_must_appear_in_order_with_only_the_loose_parts_loosened() -> None:
    shown = ("read CCF_TEST from http://127.0.0.1:8080 in 3 requests (0.01 s)", "...", "Plan: 1 to create.")
    ports = {"127.0.0.1:8080": "127.0.0.1:4321"}
    real = "scanned\nread CCF_TEST from http://127.0.0.1:4321 in 3 requests (2.50 s)\nmore\nPlan: 1 to create.\n"
    assert unmatched(shown, real, ports) == []
    assert unmatched(shown, real.replace("3 requests", "4 requests"), ports) == [shown[0]]
    assert unmatched(shown, real.replace("4321", "4322"), ports) == [shown[0]]
    assert unmatched(tuple(reversed(shown)), real, ports) == [shown[0]]  # order matters
    assert unmatched(("UID=2.25.12…  date=2024-01-31",), "UID=2.25.1234  date=2024-01-31", {}) == []
    assert unmatched(("UID=2.25.12…  date=2024-01-31",), "UID=2.25.1234  date=2024-02-01", {}) != []
