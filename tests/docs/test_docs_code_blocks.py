"""Every Python block of the README and docs/ compiles, and the API it names exists.

The tutorial is run whole (test_docs_snippets.py); the other blocks are excerpts that need a
PBX, so they are not run. Each is checked as far as it can be without one: it compiles (a top-
level ``await`` allowed), its imports import, and every attribute it takes from an ami_client
module, or from ``ami`` (the name the docs give a connected client), exists. A renamed
method or module then fails here instead of misleading a reader.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import ami_client

ROOT = Path(__file__).parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
_BLOCK = re.compile(r"^```python[^\n]*\n(.*?)^```$", re.S | re.M)


def blocks() -> list[tuple[str, str]]:
    """(where, code) for every Python block: where is ``page:line``."""
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            line = text.count("\n", 0, match.start()) + 2  # the block's first line of code
            found.append((f"{page.relative_to(ROOT)}:{line}", match.group(1)))
    return found


BLOCKS = blocks()


def test_the_docs_have_python_blocks() -> None:
    assert len(BLOCKS) > 30
    assert any(where.startswith("README.md:") for where, _ in BLOCKS)


def imported_names(tree: ast.Module, where: str) -> dict[str, Any]:
    """Run the block's import statements (only those) and return what they bound."""
    names: dict[str, Any] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            code = compile(ast.Module(body=[node], type_ignores=[]), where, "exec")
            exec(code, names)  # noqa: S102 (an import statement of our own docs)
    names.pop("__builtins__", None)
    return names


def is_ours(value: object) -> bool:
    module = value.__name__ if isinstance(value, ModuleType) else getattr(value, "__module__", "")
    return isinstance(module, str) and module.split(".")[0] == "ami_client"


@pytest.mark.parametrize(("where", "code"), BLOCKS, ids=[where for where, _ in BLOCKS])
def test_block_compiles_and_names_real_api(where: str, code: str) -> None:
    compile(code, where, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    tree = ast.parse(code)
    names = imported_names(tree, where)
    names.setdefault("ami", ami_client.AMIClient)  # `async with ... as ami:` in every page
    missing = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
            base = names.get(node.value.id)
            if base is not None and is_ours(base) and not hasattr(base, node.attr):
                missing.append(f"{node.value.id}.{node.attr}")
    assert not missing, f"{where}: no such API: {', '.join(missing)}"
