"""Extract the facts of Asterisk's AMI documentation into a small, committed JSON file.

Asterisk ships the documentation of every manager action and event as XML
(``core-en_US.xml``), with ``xi:include`` references between entries and two shorthand
elements, ``<channel_snapshot prefix=.../>`` and ``<bridge_snapshot prefix=.../>``, that its
stylesheet ``appdocsxml.xslt`` expands into fields. This script resolves both and writes
only facts: names, fields, required flags, enumerated values, privilege classes, the
versions that document each entry and the structure of list responses. No prose is copied.

Usage::

    python tools/catalogue/extract.py [--root /var/tmp/ami-client-asterisk/root]
        [--output tools/catalogue/asterisk-22.json]

The root is a file system holding Debian's ``asterisk`` package (see DESIGN.md); the
version recorded is the package's. Only the standard library is needed.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

DOC_DIR = "usr/share/asterisk/documentation"
XINCLUDE = "{http://www.w3.org/2001/XInclude}include"
XSL = "{http://www.w3.org/1999/XSL/Transform}"
HERE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = HERE / "asterisk-22.json"
# Where tests/asterisk/server.py provisions Asterisk (AMI_ASTERISK_ROOT).
DEFAULT_ROOT = Path("/var/tmp/ami-client-asterisk/root")  # noqa: S108

# `EVENT_FLAG_CALL` -> `call`: the names AMI uses in `Privilege:` and in manager.conf.
_FLAG_PREFIX = "EVENT_FLAG_"


# -- XInclude with the small XPointer subset Asterisk's documentation uses --------------------

_STEP = re.compile(r"^([\w-]+|text\(\)|node\(\))(?:\[(.*)\])?$")


def _split_path(path: str) -> list[str]:
    steps, depth, cur = [], 0, ""
    for ch in path:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        if ch == "/" and depth == 0:
            steps.append(cur)
            cur = ""
        else:
            cur += ch
    steps.append(cur)
    return [s for s in steps if s]


def _matches(el: ET.Element, predicate: str | None, position: int) -> bool:
    if predicate is None:
        return True
    if predicate.isdigit():
        return position == int(predicate)
    m = re.fullmatch(r"@name\s*=\s*'([^']*)'", predicate)
    if m:
        return el.get("name") == m.group(1)
    m = re.fullmatch(r"contains\(@name,\s*'([^']*)'\)", predicate)
    if m:
        return m.group(1) in (el.get("name") or "")
    raise ValueError(f"unsupported XPointer predicate {predicate!r}")


def _xpointer(root: ET.Element, expr: str) -> list[ET.Element | str]:
    m = re.fullmatch(r"xpointer\((.*)\)", expr.strip())
    if not m:
        raise ValueError(f"unsupported XPointer {expr!r}")
    steps = _split_path(m.group(1))
    if steps[0] != "docs":
        raise ValueError(f"XPointer {expr!r} does not start at /docs")
    nodes: list[ET.Element | str] = [root]
    for step in steps[1:]:
        sm = _STEP.match(step)
        if not sm:
            raise ValueError(f"unsupported XPointer step {step!r}")
        tag, predicate = sm.groups()
        out: list[ET.Element | str] = []
        for node in nodes:
            if isinstance(node, str):
                continue
            if tag == "text()":
                out.append(node.text or "")
                continue
            if tag == "node()":  # children only: the text inside is prose, never a fact
                out.extend(node)
                continue
            children = [c for c in node if c.tag == tag]
            out.extend(c for i, c in enumerate(children, 1) if _matches(c, predicate, i))
        nodes = out
    return nodes


def _resolve_includes(root: ET.Element, el: ET.Element, depth: int = 0) -> None:
    if depth > 10:
        raise ValueError("xi:include nested too deeply")
    for index in range(len(el) - 1, -1, -1):
        child = el[index]
        if child.tag == XINCLUDE:
            found = _xpointer(root, child.get("xpointer", ""))
            el.remove(child)
            for offset, node in enumerate(n for n in found if not isinstance(n, str)):
                clone = copy.deepcopy(node)
                _resolve_includes(root, clone, depth + 1)
                el.insert(index + offset, clone)
        else:
            _resolve_includes(root, child, depth)


# -- the snapshot shorthands, read from appdocsxml.xslt ----------------------------------------


def _snapshot_fields(xslt: Path) -> dict[str, list[dict[str, Any]]]:
    tree = ET.parse(xslt).getroot()  # noqa: S314 (Asterisk's own installed docs)
    out: dict[str, list[dict[str, Any]]] = {}
    for template in tree.iter(f"{XSL}template"):
        kind = {"channel_snapshot": "channel", "bridge_snapshot": "bridge"}.get(
            template.get("match", "")
        )
        if kind is None:
            continue
        fields = []
        for element in template.iter(f"{XSL}element"):
            if element.get("name") != "parameter":
                continue
            name = None
            required = None
            for attribute in element.iter(f"{XSL}attribute"):
                if attribute.get("name") == "name":
                    value_of = attribute.find(f"{XSL}value-of")
                    select = value_of.get("select", "") if value_of is not None else ""
                    m = re.search(r"concat\(@prefix,\s*'(\w+)'\)", select)
                    if not m:
                        raise ValueError(f"unexpected snapshot field select {select!r}")
                    name = m.group(1)
                elif attribute.get("name") == "required":
                    required = (attribute.text or "").strip() == "true"
            if name is None:
                raise ValueError(f"snapshot field without a name in {kind}")
            field: dict[str, Any] = {"name": name, "required": required}
            enum = [e.get("name", "") for e in element.iter("enum")]
            if enum:
                field["enum"] = enum
            fields.append(field)
        out[kind] = fields
    if set(out) != {"channel", "bridge"}:
        raise ValueError(f"{xslt} does not define both snapshot templates")
    return out


# -- entries -----------------------------------------------------------------------------------


def _required(param: ET.Element) -> bool | None:
    value = param.get("required")
    if value is None:
        return None
    return value.strip().lower() in {"true", "yes"}


def _syntax_items(syntax: ET.Element | None) -> list[dict[str, Any]]:
    """Fields and snapshot groups, in document order."""
    items: list[dict[str, Any]] = []
    if syntax is None:
        return items
    for child in syntax:
        if child.tag == "parameter":
            name = child.get("name")
            if not name:
                continue
            item: dict[str, Any] = {"name": name, "required": _required(child)}
            enum = [e.get("name", "") for e in child.iter("enum") if e.get("name")]
            if enum:
                item["enum"] = list(dict.fromkeys(enum))
            items.append(item)
        elif child.tag in ("channel_snapshot", "bridge_snapshot"):
            items.append({"snapshot": child.tag.split("_")[0], "prefix": child.get("prefix") or ""})
    return items


def _since(el: ET.Element | None) -> list[str]:
    if el is None:
        return []
    return [(v.text or "").strip() for v in el.iter("version") if (v.text or "").strip()]


def _merge_items(into: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
    def key(item: dict[str, Any]) -> tuple[str, str]:
        if "snapshot" in item:
            return (item["snapshot"], item["prefix"])
        return ("field", item["name"])

    known = {key(i): i for i in into}
    for item in items:
        k = key(item)
        if k not in known:
            into.append(item)
            known[k] = item
            continue
        old = known[k]
        if "enum" in item:
            old["enum"] = list(dict.fromkeys([*old.get("enum", []), *item["enum"]]))
        # Documented by several modules: required only if every one says so.
        if old.get("required") != item.get("required"):
            old["required"] = bool(old.get("required")) and bool(item.get("required"))


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else 0 for p in re.split(r"[.-]", version))


def _sorted_versions(versions: list[str]) -> list[str]:
    return sorted(dict.fromkeys(versions), key=_version_key)


def extract(root_dir: Path) -> dict[str, Any]:
    """Read the documentation under ``root_dir`` and return the facts."""
    doc_dir = root_dir / DOC_DIR
    root = ET.parse(doc_dir / "core-en_US.xml").getroot()  # noqa: S314 (installed docs)
    # Resolve on a copy, so XPointers always see the document as written.
    resolved = copy.deepcopy(root)
    _resolve_includes(root, resolved)

    events: dict[str, dict[str, Any]] = {}
    for ev in resolved.iter("managerEvent"):
        name = ev.get("name", "")
        entry = events.setdefault(
            name, {"name": name, "modules": [], "privilege": [], "since": [], "fields": []}
        )
        for instance in ev.findall("managerEventInstance"):
            module = instance.get("module") or ev.get("module") or ""
            if module and module not in entry["modules"]:
                entry["modules"].append(module)
            flag = instance.get("class", "")
            if flag.startswith(_FLAG_PREFIX):
                privilege = flag[len(_FLAG_PREFIX) :].lower()
                if privilege not in entry["privilege"]:
                    entry["privilege"].append(privilege)
            entry["since"].extend(_since(instance.find("since")))
            _merge_items(entry["fields"], _syntax_items(instance.find("syntax")))

    actions: dict[str, dict[str, Any]] = {}
    for act in resolved.findall("manager"):
        name = act.get("name", "")
        entry = actions.setdefault(
            name,
            {"name": name, "modules": [], "since": [], "fields": [], "list": None},
        )
        module = act.get("module", "")
        if module and module not in entry["modules"]:
            entry["modules"].append(module)
        entry["since"].extend(_since(act.find("since")))
        _merge_items(entry["fields"], _syntax_items(act.find("syntax")))
        responses = act.find("responses")
        if responses is not None:
            elements = responses.find("list-elements")
            items = (
                [e.get("name", "") for e in elements.findall("managerEvent")]
                if elements is not None
                else []
            )
            complete = [e.get("name", "") for e in responses.findall("managerEvent")]
            if items or complete:
                entry["list"] = {
                    "items": list(dict.fromkeys(items)),
                    "complete": complete[0] if complete else None,
                }

    for entry in [*events.values(), *actions.values()]:
        entry["since"] = _sorted_versions(entry["since"])
        entry["modules"].sort()
    for entry in events.values():
        entry["privilege"].sort()

    return {
        "asterisk_version": _asterisk_version(root_dir),
        "source": f"{DOC_DIR}/core-en_US.xml and appdocsxml.xslt",
        "snapshots": _snapshot_fields(doc_dir / "appdocsxml.xslt"),
        "events": sorted(events.values(), key=lambda e: e["name"]),
        "actions": sorted(actions.values(), key=lambda a: a["name"]),
    }


def _asterisk_version(root_dir: Path) -> dict[str, str]:
    """The Debian package version of ``asterisk`` in the tree, and its upstream part."""
    status = (root_dir / "var/lib/dpkg/status").read_text(encoding="utf-8", errors="replace")
    for block in status.split("\n\n"):
        if re.search(r"^Package: asterisk$", block, re.M):
            m = re.search(r"^Version: (.+)$", block, re.M)
            if m:
                package = m.group(1).strip()
                upstream = re.sub(r"^\d+:", "", package).split("+")[0].split("~")[0]
                return {"upstream": upstream, "debian_package": package}
    raise ValueError(f"no asterisk package in {root_dir}/var/lib/dpkg/status")


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    facts = extract(args.root)
    text = json.dumps(facts, indent=1, ensure_ascii=False, sort_keys=False) + "\n"
    args.output.write_text(text, encoding="utf-8")
    print(
        f"{args.output}: Asterisk {facts['asterisk_version']['upstream']}, "
        f"{len(facts['events'])} events, {len(facts['actions'])} actions",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
