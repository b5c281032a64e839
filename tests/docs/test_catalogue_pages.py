"""docs/gen_catalogue_pages.py lists every event and action class of the catalogue."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from ami_client import actions, events

SCRIPT = Path(__file__).parents[2] / "docs" / "gen_catalogue_pages.py"


def load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_catalogue_pages", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_event_has_a_section() -> None:
    page = load().events_page()
    for name in events.EVENT_CLASSES:
        assert f"\n## {name}\n" in page
    assert "| `cause` | `Cause` |" in page  # Hangup's attribute and its wire key
    assert "| `dest` | snapshot, prefix `Dest` |" in page  # DialBegin's snapshot


def test_every_action_has_a_section_with_its_parameters() -> None:
    page = load().actions_page()
    typed = [
        getattr(actions, n)
        for n in actions.__all__
        if isinstance(getattr(actions, n), type)
        and issubclass(getattr(actions, n), actions.TypedAction)
        and getattr(actions, n) is not actions.TypedAction
    ]
    assert len(typed) > 100
    for cls in typed:
        assert f"\n## {cls.ACTION_NAME}\n" in page
    assert "| **`channel`** | `str` | `Channel` |" in page  # Originate's required parameter
    assert "| `async_` | `bool | None` | `Async` |" not in page  # '|' is escaped in cells
    assert "| `async_` | `bool \\| None` | `Async` |" in page
    assert "`?`" not in page  # every parameter's wire key is known
