"""Build the catalogue's reference pages from the typed classes themselves (an mkdocs hook).

``mkdocs.yml`` loads this file under ``hooks:``; at every build it adds two generated pages,
``reference/catalogue-events.md`` and ``reference/catalogue-actions.md``, with one entry per
event and per action class of ``ami_client.events`` / ``ami_client.actions``: wire names,
attributes, privilege classes, versions and a link to Asterisk's documentation. Nothing is
written to the source tree, so the pages can never go stale or be edited by hand; the classes
themselves come from the catalogue generator (tools/catalogue/generate.py).

Rendering 335 classes through mkdocstrings would take most of the build for little more than
this; these tables cost milliseconds.

    python docs/gen_catalogue_pages.py events|actions    # print a page, for a look
"""

from __future__ import annotations

import re
import sys
from typing import Any

import attrs

from ami_client import actions, events

EVENTS_PAGE = "reference/catalogue-events.md"
ACTIONS_PAGE = "reference/catalogue-actions.md"
_URL = re.compile(r"https://docs\.asterisk\.org/\S+")


def _doc_url(cls: type) -> str | None:
    match = _URL.search(cls.__doc__ or "")
    return match.group(0) if match else None


def _since(cls: Any) -> str:
    return ", ".join(cls.SINCE) or "—"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def event_classes() -> list[type[events.TypedEvent]]:
    """Every typed event class, by wire name."""
    return [events.EVENT_CLASSES[name] for name in sorted(events.EVENT_CLASSES, key=str.lower)]


def action_classes() -> list[type[actions.TypedAction]]:
    """Every typed action class, by wire name."""
    found = [getattr(actions, name) for name in actions.__all__]
    typed = [
        cls
        for cls in found
        if isinstance(cls, type)
        and issubclass(cls, actions.TypedAction)
        and cls is not actions.TypedAction
    ]
    return sorted(typed, key=lambda cls: str(cls.ACTION_NAME).lower())


def events_page() -> str:
    classes = event_classes()
    out = [
        "# Event catalogue",
        "",
        f"Every event Asterisk 22 documents: {len(classes)} classes in `ami_client.events`,",
        "generated from Asterisk's documentation ([how](../catalogue.md)). This page is built",
        "from the classes at each site build. Read an attribute as `event.<attribute>`;",
        "*snapshot* attributes are a `ChannelSnapshot` / `BridgeSnapshot` whose own attributes",
        "are the prefixed wire keys (`event.dest.channel` is `DestChannel`). Every event also",
        "has `message`, `name`, `action_id`, `privilege`, `chan_variables` and `get(key)`;",
        "an event with no class here arrives as `GenericEvent`.",
        "",
        "| event | privilege | since |",
        "| --- | --- | --- |",
    ]
    for cls in classes:
        name = cls.EVENT_NAME
        privilege = ", ".join(sorted(cls.PRIVILEGE_CLASSES)) or "—"
        out.append(f"| [`{name}`](#{name.lower()}) | {privilege} | {_since(cls)} |")
    out.append("")
    for cls in classes:
        name = cls.EVENT_NAME
        out += [f"## {name}", ""]
        line = f"`events.{cls.__name__}`"
        url = _doc_url(cls)
        if url:
            line += f" — [Asterisk's documentation]({url})"
        out += [line, ""]
        keys = cls.field_keys()
        if keys:
            out += ["| attribute | wire key |", "| --- | --- |"]
            for attribute, key in keys.items():
                wire = f"`{_cell(key)}`" if key else "snapshot, no prefix"
                if key and attribute in _snapshot_attributes(cls):
                    wire = f"snapshot, prefix `{_cell(key)}`"
                out.append(f"| `{attribute}` | {wire} |")
            out.append("")
    return "\n".join(out) + "\n"


def _snapshot_attributes(cls: type[events.TypedEvent]) -> set[str]:
    hints = getattr(cls, "__annotations__", {})
    return {
        name
        for name, hint in hints.items()
        if "ChannelSnapshot" in str(hint) or "BridgeSnapshot" in str(hint)
    }


def actions_page() -> str:
    classes = action_classes()
    out = [
        "# Action catalogue",
        "",
        f"Every action Asterisk 22 documents: {len(classes)} classes in `ami_client.actions`,",
        "generated from Asterisk's documentation ([how](../catalogue.md)). This page is built",
        "from the classes at each site build. Parameters are keyword-only; **bold** ones are",
        "required. Every action also takes `action_id=`. `send()`, `collect()`, `stream()` and",
        "`originate()` accept these classes as they are.",
        "",
        "| action | answers with a list | since |",
        "| --- | --- | --- |",
    ]
    for cls in classes:
        name = cls.ACTION_NAME
        listing = ", ".join(f"`{n}`" for n in cls.ITEM_EVENT_NAMES) if cls.is_list() else ""
        if cls.is_list() and cls.COMPLETE_EVENT_NAME:
            listing += f" → `{cls.COMPLETE_EVENT_NAME}`"
        out.append(f"| [`{name}`](#{name.lower()}) | {listing or '—'} | {_since(cls)} |")
    out.append("")
    for cls in classes:
        name = cls.ACTION_NAME
        out += [f"## {name}", ""]
        line = f"`actions.{cls.__name__}`"
        url = _doc_url(cls)
        if url:
            line += f" — [Asterisk's documentation]({url})"
        out += [line, ""]
        if cls.is_list():
            items = ", ".join(f"`{n}`" for n in cls.ITEM_EVENT_NAMES) or "not documented"
            done = f"`{cls.COMPLETE_EVENT_NAME}`" if cls.COMPLETE_EVENT_NAME else "not documented"
            out += [f"Answers with an event list: items {items}, completion {done}.", ""]
        wire = dict(cls.parameter_keys())
        params = [f for f in attrs.fields(cls) if f.name != "action_id"]
        if params:
            out += ["| parameter | type | wire key |", "| --- | --- | --- |"]
            for field in params:
                label = f"`{field.name}`"
                if field.default is attrs.NOTHING:
                    label = f"**{label}**"
                hint = _cell(str(field.type))
                key = wire.get(field.name, "?")
                where = "each item its own `Key: Value`" if key == "*" else f"`{_cell(key)}`"
                out.append(f"| {label} | `{hint}` | {where} |")
            out.append("")
    return "\n".join(out) + "\n"


# -- the mkdocs hook ---------------------------------------------------------------------


def on_files(files: Any, config: Any) -> Any:
    """Add the generated pages to the site's files (mkdocs >= 1.6: ``File.generated``)."""
    from mkdocs.structure.files import File

    for path, build in ((EVENTS_PAGE, events_page), (ACTIONS_PAGE, actions_page)):
        files.append(File.generated(config, path, content=build()))
    return files


if __name__ == "__main__":
    which = sys.argv[1] if len(sys.argv) > 1 else "events"
    sys.stdout.write(events_page() if which == "events" else actions_page())
