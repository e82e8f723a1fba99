"""The README's examples are tests: every ``bash`` and ``python`` block runs, in order.

The blocks run like a reader would run them, one after the other in one empty folder with a
fresh ``MAINSAIL_HOME``: Python blocks share one interpreter (a notebook: a later block sees
the names an earlier one defined), shell blocks run in ``bash -eo pipefail`` with the
``mainsail`` command of this checkout on the PATH. A shell block that starts a server puts
it in the background itself (``mainsail serve ... &``) and waits for it the way a reader
would (``curl --retry-connrefused``); whatever a block left running is stopped when it ends.

A block that cannot run here (it needs Kubernetes, TLS certificates, or is the demo itself)
carries the marker comment ``<!-- readme-test: skip REASON -->`` on the line just above its
fence; the reason is required. Port 8080 in a block becomes a free port (another process on
this machine may hold 8080).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SRC = README.parent / "src"
RUNNABLE = {"bash": "bash", "sh": "bash", "shell": "bash", "python": "python"}
SKIP = re.compile(r"<!--\s*readme-test:\s*skip\b(?P<reason>[^>]*)-->")
FENCE = re.compile(r"^(?P<indent>\s*)```(?P<lang>[\w-]*)\s*$")
BLOCK_TIMEOUT_S = 120.0  # a loaded 2-core machine took 57 s for the longest block


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    line: int  # 1-based line of the opening fence
    skip: str | None  # the reason given in the marker, None when the block runs


def extract_blocks(text: str) -> list[Block]:
    """The fenced ``bash``/``python`` blocks of ``text``, in order, with their skip markers."""
    lines = text.splitlines()
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if m is None:
            i += 1
            continue
        start, lang = i, m["lang"].lower()
        j = i + 1
        while j < len(lines) and not FENCE.match(lines[j]):
            j += 1
        if lang in RUNNABLE:
            marker = SKIP.search(lines[start - 1]) if start > 0 else None
            reason = marker["reason"].strip() if marker else None
            if marker and not reason:
                raise ValueError(
                    f"README.md line {start}: a skip marker needs a reason, e.g. "
                    "<!-- readme-test: skip needs Kubernetes -->."
                )
            code = textwrap.dedent("\n".join(lines[start + 1 : j]))
            blocks.append(Block(RUNNABLE[lang], code, start + 1, reason))
        i = j + 1
    return blocks


# A persistent interpreter: each message on stdin is one block (JSON), run in one namespace.
DRIVER = r"""
import json, sys, traceback
ns = {"__name__": "__main__"}
for line in sys.stdin:
    code = json.loads(line)
    try:
        exec(compile(code, "<README block>", "exec"), ns)
        status = "ok"
    except BaseException:
        traceback.print_exc()
        status = "error"
    sys.stdout.flush(); sys.stderr.flush()
    print("\n@@readme-block " + status, flush=True)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop what a shell block left running (its background servers share its group)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.killpg(proc.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def test_extract_blocks_honours_the_skip_marker() -> None:
    text = (
        "```bash\necho one\n```\n"
        "<!-- readme-test: skip needs Kubernetes -->\n```bash\nkubectl apply -f x\n```\n"
        "  ```python\n  x = 1\n  ```\n```yaml\na: 1\n```\n"
    )
    blocks = extract_blocks(text)
    assert [(b.lang, b.code, b.skip) for b in blocks] == [
        ("bash", "echo one", None),
        ("bash", "kubectl apply -f x", "needs Kubernetes"),
        ("python", "x = 1", None),
    ]
    with pytest.raises(ValueError, match="needs a reason"):
        extract_blocks("<!-- readme-test: skip -->\n```bash\nls\n```\n")


def _check_command_line(line: str) -> list[str]:
    """Problems with one ``mainsail ...`` line: an unknown command or option."""
    import typer.main

    from mainsail.cli._app import _register, app

    _register()
    command = typer.main.get_command(app)
    words = shlex.split(line.split(" #", 1)[0])[1:]
    path = ["mainsail"]
    while words and hasattr(command, "commands") and words[0] in command.commands:
        path.append(words[0])
        command = command.commands[words.pop(0)]
    if hasattr(command, "commands"):
        return [f"{' '.join(path)} has no command {words[0] if words else '(none given)'!r}"]
    known = {opt for p in command.params for opt in (*p.opts, *p.secondary_opts)}
    return [
        f"{' '.join(path)} has no option {w.split('=')[0]!r}"
        for w in words
        if w.startswith("--") and w.split("=")[0] not in known
    ]


def test_skipped_blocks_name_real_commands_and_options() -> None:
    """A block that cannot run still cannot drift: its commands and options must exist."""
    skipped = [b for b in extract_blocks(README.read_text()) if b.skip and b.lang == "bash"]
    assert skipped
    problems = [
        f"README.md block at line {b.line}: {problem}"
        for b in skipped
        for line in b.code.splitlines()
        if line.startswith("mainsail ")
        for problem in _check_command_line(line)
    ]
    assert not problems, "\n".join(problems)
    assert _check_command_line("mainsail tokens create ci --scopes x") == [
        "mainsail tokens create has no option '--scopes'"
    ]


@pytest.mark.timeout(480)
def test_every_readme_block_runs(tmp_path: Path) -> None:
    blocks = extract_blocks(README.read_text())
    assert any(b.skip is None and b.lang == "bash" for b in blocks)
    assert any(b.skip is None and b.lang == "python" for b in blocks)
    port = str(_free_port())
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAINSAIL_")}
    env |= {
        "MAINSAIL_HOME": str(tmp_path / ".mainsail"),
        "PYTHONPATH": os.pathsep.join([str(SRC), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")]),
        "NO_COLOR": "1",
        "COLUMNS": "120",
    }
    driver = subprocess.Popen(
        [sys.executable, "-u", "-c", DRIVER],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert driver.stdin is not None and driver.stdout is not None
    took: list[str] = []
    try:
        for block in blocks:
            if block.skip is not None:
                continue
            started = time.monotonic()
            code = block.code.replace("8080", port)
            where = f"README.md block at line {block.line} ({block.lang})"
            if block.lang == "python":
                driver.stdin.write(json.dumps(code) + "\n")
                driver.stdin.flush()
                output: list[str] = []
                for line in driver.stdout:
                    if line.startswith("@@readme-block "):
                        status = line.split()[1]
                        break
                    output.append(line)
                else:
                    status = "died"
                assert status == "ok", f"{where} failed:\n{code}\n---\n{''.join(output)}"
                took.append(f"line {block.line}: {time.monotonic() - started:.1f} s")
                continue
            log = tmp_path / f"block-{block.line}.log"
            with log.open("wb") as sink:  # a file, not a pipe: a background server keeps it
                proc = subprocess.Popen(
                    ["bash", "-eo", "pipefail", "-c", code],
                    cwd=tmp_path,
                    env=env,
                    stdout=sink,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                try:
                    proc.wait(timeout=BLOCK_TIMEOUT_S)
                except subprocess.TimeoutExpired:
                    pass
                finally:
                    _stop_group(proc)
                    proc.wait()
            said = f"{where}:\n{code}\n---\n{log.read_text(errors='replace')}"
            assert proc.returncode == 0, (
                f"exit {proc.returncode} (-9: over {BLOCK_TIMEOUT_S} s) {said}"
            )
            took.append(f"line {block.line}: {time.monotonic() - started:.1f} s")
    finally:
        print("README blocks:", ", ".join(took))
        driver.stdin.close()
        driver.wait(timeout=30)
        driver.stdout.close()
