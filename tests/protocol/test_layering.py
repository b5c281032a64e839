"""The protocol layer is sans-IO: it imports no I/O library and nothing above it."""

from __future__ import annotations

import ast
from pathlib import Path

import ami_client

PACKAGE = Path(ami_client.__file__).parent
CORE_MODULES = ("errors", "limits", "message", "parser", "serializer", "shapes")
CORE = ["protocol.py", *(f"_private/{m}.py" for m in CORE_MODULES)]
ALLOWED = {
    "__future__", "collections", "collections.abc", "enum", "itertools", "operator", "os", "re",
    "sys", "threading", "typing", "attrs",
    *(f"ami_client._private.{m}" for m in CORE_MODULES),
}  # fmt: skip


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path}: use absolute imports"
            found.add(node.module or "")
    return found


def test_core_imports_no_io_and_nothing_above_it() -> None:
    for name in CORE:
        used = imports(PACKAGE / name)
        assert used <= ALLOWED, f"{name} imports {sorted(used - ALLOWED)}"


def test_the_check_would_catch_an_io_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import socket\nfrom anyio import sleep\n")
    assert imports(bad) - ALLOWED == {"socket", "anyio"}
