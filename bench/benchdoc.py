"""What the benchmarks share: writing their section of docs/benchmarks.md between their own markers.

Each benchmark owns one section, so that rerunning one leaves the others' figures alone.
"""

from __future__ import annotations

from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"


def write_section(section: str, start_marker: str, end_marker: str, doc: Path = DOC) -> None:
    """Replace the section between the markers (appended at the end the first time); keep the rest."""
    block = f"{start_marker}\n{section}{end_marker}\n"
    old = doc.read_text(encoding="utf-8") if doc.exists() else (
        "# Benchmarks\n\nFigures measured on this project's reference machine; rerun with `make bench`.\n")
    if start_marker in old and end_marker in old:
        head, rest = old.split(start_marker, 1)
        new = head + block + rest.split(end_marker, 1)[1].lstrip("\n")
    else:
        new = old.rstrip("\n") + "\n\n" + block
    doc.write_text(new, encoding="utf-8")


def proc_field(path: str, key: str) -> str:
    """A `key: value` field of a /proc file (CPU model, memory), or "unknown" where there is none."""
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(key):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"
