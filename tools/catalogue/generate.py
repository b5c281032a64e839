"""Generate the typed catalogue modules from the committed extract of Asterisk's documentation.

Reads ``tools/catalogue/asterisk-22.json`` (written by ``extract.py``) and writes
``ami_client/_private/catalogue/_generated_events.py`` and ``_generated_actions.py``. Offline
and deterministic: the same extract always gives the same bytes.

Usage::

    python tools/catalogue/generate.py           # (re)write the generated modules
    python tools/catalogue/generate.py --check   # exit 1 if they differ from a fresh run

What the documentation does not say (Python names, value types, undocumented list
responses, wire spellings that differ from the documentation) is in the override tables
below, each entry with the reason.
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
EXTRACT = HERE / "asterisk-22.json"
OUT_DIR = REPO / "ami_client" / "_private" / "catalogue"
EVENTS_FILE = OUT_DIR / "_generated_events.py"
ACTIONS_FILE = OUT_DIR / "_generated_actions.py"
DOCS_URL = "https://docs.asterisk.org/Asterisk_22_Documentation/API_Documentation"
LINE = 100

# -- override tables ---------------------------------------------------------------------------

#: Documented names that are not Python identifiers.
CLASS_NAMES = {"AOC-D": "AOCD", "AOC-E": "AOCE", "AOC-S": "AOCS"}

#: Events whose name on the wire differs from the documentation's spelling. Asterisk 22.10.1
#: documents `NewExten` but sends `Event: Newexten` (tests/data/transcripts/originate.ami).
WIRE_EVENT_NAMES = {"NewExten": "Newexten"}

#: Field (wire key) -> attribute name, where the mechanical snake case reads badly.
FIELD_NAMES = {
    "100rel": "rel_100",
    "CallerIDani": "caller_id_ani",
    "CallerIDdnid": "caller_id_dnid",
    "CallerIDname": "caller_id_name",
    "CallerIDnum": "caller_id_num",
    "CallerIDrdnis": "caller_id_rdnis",
    "MCallerIDton": "m_caller_id_ton",
    "MConnectedIDton": "m_connected_id_ton",
    "Action-000000": "actions",
    "Cat-000000": "categories",
    "Var-000000": "variables",
    "Value-000000": "values",
    "Match-000000": "matches",
    "Line-000000": "lines",
    "Options-000000": "options",
    "UnitAmount(0)": "unit_amounts",
    "UnitType(0)": "unit_types",
}

#: Attribute names a typed event or action already uses for something else; a documented
#: field with such a name gets a trailing underscore (``name_`` is the ``Name`` field).
EVENT_RESERVED = {"message", "name", "action_id", "privilege", "chan_variables", "get"}
ACTION_RESERVED = {"action_id", "to_action", "is_list", "parameter_keys"}

#: Event fields read as integers (by wire key, in every event). A value that is not a number
#: reads None, the text stays in `.message`.
INT_FIELDS = {
    "Abandoned",
    "ActiveChannels",
    "BillableSeconds",
    "Calls",
    "CallsTaken",
    "Cause",
    "Completed",
    "CompletedFAXes",
    "Count",
    "CurrentSessions",
    "Duration",
    "DurationMs",
    "FailedFAXes",
    "HoldTime",
    "Holdtime",
    "InCall",
    "LastCall",
    "LastPause",
    "ListItems",
    "LoggedInTime",
    "LoginTime",
    "Logintime",
    "Max",
    "NewMessages",
    "OldMessages",
    "OriginalPosition",
    "PagesReceived",
    "PagesTransferred",
    "PagesTransmitted",
    "Parties",
    "ParkingDuration",
    "ParkingTimeout",
    "Penalty",
    "Position",
    "Priority",
    "ReceiveAttempts",
    "ReportCount",
    "ReservedSessions",
    "RingTime",
    "RoundtripUsec",
    "SentOctets",
    "SentPackets",
    "SentRTP",
    "ServiceLevel",
    "TalkTime",
    "TechCause",
    "TimeToHangup",
    "TotalContacts",
    "ContactsRegistered",
    "TransmitAttempts",
    "Wrapuptime",
    "Items",
}
FLOAT_FIELDS = {"RTT", "ServiceLevelPerf", "ServiceLevelPerf2"}
#: Event fields read as booleans although the documentation lists no yes/no values.
BOOL_FIELDS = {"Paused", "Ringinuse", "InCall"}
STATE_FIELDS = {"ChannelState"}
#: (event, key) -> converter, where one event's field differs from the same key elsewhere.
#: OriginateResponse's Reason is the number of the last control frame (4 = answered; see
#: tests/data/transcripts/originate.ami), where other events' Reason is text.
#: CoreShowChannel's Duration is "HH:MM:SS" (tests/data/transcripts/core_show_channels.ami),
#: where Cdr's and MeetMe's are seconds.
EVENT_FIELD_TYPES = {
    ("OriginateResponse", "Reason"): ("as_int", "int | None"),
    ("CoreShowChannel", "Duration"): ("as_str", "str | None"),
}
_BOOL_WORDS = {"yes", "no", "true", "false", "1", "0", "on", "off"}

#: Action parameters that repeat: (action, key) -> (attribute, kind). "mapping" is written as
#: repeated ``Key: name=value`` lines (Asterisk reads each with its own `Variable:` header).
ACTION_PARAMS = {
    ("Originate", "Variable"): ("variables", "mapping"),
    ("PJSIPNotify", "Variable"): ("variables", "mapping"),
    ("MessageSend", "Variable"): ("variables", "mapping"),
    # UserEvent's documentation lists `Header1` ... `HeaderN` as placeholders for headers of
    # the caller's choosing (manager.c copies every field but Action/UserEvent/ActionID into
    # the event): one `headers` mapping, each item its own `Key: Value` line (wire key "*").
    ("UserEvent", "Header1"): ("headers", "headers"),
}
#: Documented parameters that are not real keys (covered by a "headers" parameter above).
ACTION_SKIP = {("UserEvent", "HeaderN")}
ACTION_INT = {"Timeout", "Penalty", "Priority", "Count", "Duration", "Offset", "Cause"}
ACTION_BOOL = {"Async", "EarlyMedia", "Paused", "RingInUse", "Ringinuse"}

#: Actions answering with an event list that Asterisk's documentation does not describe:
#: action -> (item event names, completion event name), with where each fact comes from.
LIST_OVERRIDES: dict[str, tuple[tuple[str, ...], str | None]] = {
    # Seen on the live Asterisk 22.10.1 (tests/asterisk): EventList start ... Complete.
    "BridgeList": (("BridgeListItem",), "BridgeListComplete"),
    "BridgeTechnologyList": (("BridgeTechnologyListItem",), "BridgeTechnologyListComplete"),
    "ShowDialPlan": (("ListDialplan",), "ShowDialPlanComplete"),
    "DBGet": (("DBGetResponse",), "DBGetComplete"),
    "DBGetTree": (("DBGetTreeResponse",), "DBGetTreeComplete"),
    "QueueSummary": (("QueueSummary",), "QueueSummaryComplete"),
    # tests/data/transcripts/queue_status.ami (QueueParams items; members and callers too).
    "QueueStatus": (("QueueParams", "QueueMember", "QueueEntry"), "QueueStatusComplete"),
    # Item and completion events documented under these names, modules not loaded on the
    # test server (app_agent_pool, res_fax, res_mwi_devstate, app_confbridge, app_meetme).
    "Agents": (("Agents",), "AgentsComplete"),
    "FAXSessions": (("FAXSessionsEntry",), "FAXSessionsComplete"),
    "MWIGet": (("MWIGet",), "MWIGetComplete"),
    "ConfbridgeList": (("ConfbridgeList",), "ConfbridgeListComplete"),
    "ConfbridgeListRooms": (("ConfbridgeListRooms",), "ConfbridgeListRoomsComplete"),
    "MeetmeList": (("MeetmeList",), "MeetmeListComplete"),
    "MeetmeListRooms": (("MeetmeListRooms",), "MeetmeListRoomsComplete"),
    "CoreShowChannelMap": ((), "CoreShowChannelMapComplete"),
    # res_pjsip: the action descriptions name the item and completion events.
    "PJSIPShowRegistrationsInbound": (
        ("InboundRegistrationDetail",),
        "InboundRegistrationDetailComplete",
    ),
    "PJSIPShowRegistrationsOutbound": (
        ("OutboundRegistrationDetail",),
        "OutboundRegistrationDetailComplete",
    ),
    "PJSIPShowSubscriptionsInbound": (
        ("InboundSubscriptionDetail",),
        "InboundSubscriptionDetailComplete",
    ),
    "PJSIPShowSubscriptionsOutbound": (
        ("OutboundSubscriptionDetail",),
        "OutboundSubscriptionDetailComplete",
    ),
    "PJSIPShowResourceLists": (("ResourceListDetail",), "ResourceListDetailComplete"),
}

# -- names -------------------------------------------------------------------------------------


def snake(name: str) -> str:
    """``CallerIDNum`` -> ``caller_id_num``, ``DAHDIChannel`` -> ``dahdi_channel``."""
    if name in FIELD_NAMES:
        return FIELD_NAMES[name]
    s = re.sub(r"[^0-9A-Za-z]+", "_", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"_+", "_", s.lower()).strip("_")
    for word, spaced in (("uniqueid", "unique_id"), ("linkedid", "linked_id")):
        s = s.replace(word, spaced)
    s = re.sub(r"(^|_)callerid", r"\1caller_id", s)
    if s[:1].isdigit():
        s = "n" + s
    return s


def safe(name: str, reserved: set[str]) -> str:
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in reserved:
        return name + "_"
    return name


def class_name(name: str) -> str:
    out = CLASS_NAMES.get(name, name)
    if not out.isidentifier() or keyword.iskeyword(out):
        raise ValueError(f"no Python class name for {name!r}: add it to CLASS_NAMES")
    return out


# -- model -------------------------------------------------------------------------------------


@dataclass
class Field:
    attr: str
    key: str
    converter: str
    annotation: str
    default: str


@dataclass
class EventSpec:
    name: str
    cls: str
    wire: str
    privilege: list[str]
    since: list[str]
    fields: list[Field] = field(default_factory=list)


def _event_field_kind(name: str, enum: list[str] | None) -> tuple[str, str]:
    if name in STATE_FIELDS:
        return "as_state", "ChannelState | None"
    if name in FLOAT_FIELDS:
        return "as_float", "float | None"
    if name in INT_FIELDS or (enum and all(re.fullmatch(r"-?\d+", v) for v in enum)):
        if name in BOOL_FIELDS:
            return "as_bool", "bool | None"
        return "as_int", "int | None"
    if name in BOOL_FIELDS or (enum and {v.lower() for v in enum} <= _BOOL_WORDS):
        return "as_bool", "bool | None"
    return "as_str", "str | None"


def build_events(facts: dict[str, Any]) -> list[EventSpec]:
    snapshot_keys = {
        kind: [f["name"].lower() for f in fields] for kind, fields in facts["snapshots"].items()
    }
    specs = []
    for ev in facts["events"]:
        spec = EventSpec(
            name=ev["name"],
            cls=class_name(ev["name"]),
            wire=WIRE_EVENT_NAMES.get(ev["name"], ev["name"]),
            privilege=ev["privilege"],
            since=ev["since"],
        )
        covered: set[str] = {"event", "actionid", "privilege"}
        for item in ev["fields"]:
            if "snapshot" in item:
                prefix = item["prefix"]
                covered.update(prefix.lower() + k for k in snapshot_keys[item["snapshot"]])
        used: dict[str, str] = {}
        for item in ev["fields"]:
            if "snapshot" in item:
                kind, prefix = item["snapshot"], item["prefix"]
                if kind == "channel":
                    attr = snake(prefix) if prefix else "channel"
                    fld = Field(
                        attr, prefix, "channel_snapshot", "ChannelSnapshot", "EMPTY_CHANNEL"
                    )
                else:
                    attr = f"{snake(prefix)}_bridge" if prefix else "bridge"
                    fld = Field(attr, prefix, "bridge_snapshot", "BridgeSnapshot", "EMPTY_BRIDGE")
            else:
                key = item["name"]
                if key.lower() in covered:
                    continue
                covered.add(key.lower())
                converter, annotation = EVENT_FIELD_TYPES.get(
                    (ev["name"], key)
                ) or _event_field_kind(key, item.get("enum"))
                fld = Field(safe(snake(key), EVENT_RESERVED), key, converter, annotation, "None")
            if fld.attr in used:
                raise ValueError(
                    f"{ev['name']}: {fld.key!r} and {used[fld.attr]!r} both map to "
                    f"{fld.attr!r}; add an entry to FIELD_NAMES"
                )
            used[fld.attr] = fld.key
            spec.fields.append(fld)
        specs.append(spec)
    wires = [s.wire.lower() for s in specs]
    if len(set(wires)) != len(wires):
        raise ValueError("two events share a wire name")
    return specs


@dataclass
class Param:
    attr: str
    key: str
    annotation: str
    required: bool


@dataclass
class ActionSpec:
    name: str
    cls: str
    since: list[str]
    params: list[Param]
    items: tuple[str, ...]
    complete: str | None


def _action_param(action: str, item: dict[str, Any]) -> Param:
    key = item["name"]
    required = bool(item.get("required"))
    special = ACTION_PARAMS.get((action, key))
    if special is not None:
        attr, kind = special
        if kind == "headers":
            return Param(attr, "*", "Mapping[str, str]", required)
        annotation = "Mapping[str, str]" if kind == "mapping" else "Sequence[str]"
        return Param(attr, key, annotation, required)
    if "000000" in key or "(0)" in key:
        return Param(safe(snake(key), ACTION_RESERVED), key, "Sequence[str]", required)
    enum = item.get("enum")
    if key in ACTION_BOOL or (enum and {v.lower() for v in enum} <= _BOOL_WORDS):
        annotation = "bool"
    elif key in ACTION_INT:
        annotation = "int | str" if key == "Priority" else "int"
    else:
        annotation = "str"
    return Param(safe(snake(key), ACTION_RESERVED), key, annotation, required)


def build_actions(facts: dict[str, Any], events: list[EventSpec]) -> list[ActionSpec]:
    specs = []
    for act in facts["actions"]:
        params: list[Param] = []
        used: dict[str, str] = {}
        for item in act["fields"]:
            if "name" not in item or item["name"].lower() in {"actionid", "action"}:
                continue
            if (act["name"], item["name"]) in ACTION_SKIP:
                continue
            param = _action_param(act["name"], item)
            if param.attr in used:
                if used[param.attr].lower() == param.key.lower():
                    continue  # the same key documented twice
                raise ValueError(f"{act['name']}: {param.key!r} clashes with {used[param.attr]!r}")
            used[param.attr] = param.key
            params.append(param)
        documented = act.get("list")
        if documented:
            items = tuple(documented["items"])
            complete = documented["complete"]
        elif act["name"] in LIST_OVERRIDES:
            items, complete = LIST_OVERRIDES[act["name"]]
        else:
            items, complete = (), None
        specs.append(
            ActionSpec(act["name"], class_name(act["name"]), act["since"], params, items, complete)
        )
    return specs


# -- code --------------------------------------------------------------------------------------


def _header(facts: dict[str, Any]) -> str:
    version = facts["asterisk_version"]["upstream"]
    return (
        f"# Generated by tools/catalogue/generate.py from tools/catalogue/asterisk-22.json "
        f"(Asterisk {version}).\n# Do not edit; regenerate with `nox -s regen`.\n"
    )


def _tuple(items: list[str], indent: str, prefix: str) -> str:
    """A tuple literal, on one line if it fits (ruff format's choice), else one per line."""
    if not items:
        return prefix + "()"
    inner = ", ".join(json.dumps(i) for i in items)
    one = f"{prefix}({inner}{',' if len(items) == 1 else ''})"
    if len(indent) + len(one) <= LINE:
        return one
    body = "".join(f"{indent}    {json.dumps(i)},\n" for i in items)
    return f"{prefix}(\n{body}{indent})"


def _doc_line(text: str) -> str:
    return f'    """{text}'


def _event_class(spec: EventSpec) -> str:
    privilege = ", ".join(spec.privilege) or "none documented"
    since = ", ".join(spec.since) or "not documented"
    about = textwrap.fill(
        f"Privilege class: {privilege}. Documented since Asterisk {since}.",
        LINE,
        initial_indent="    ",
        subsequent_indent="    ",
    )
    lines = [
        "@attrs.frozen(kw_only=True, eq=False, repr=False)",
        f"class {spec.cls}(TypedEvent):",
        f'    """The ``{spec.wire}`` event.',
        "",
        about,
        "",
        "    Reference:",
        f"    {DOCS_URL}/AMI_Events/{spec.name}/",
        '    """',
        "",
        f'    EVENT_NAME: ClassVar[str] = "{spec.wire}"',
    ]
    if spec.privilege:
        inner = ", ".join(json.dumps(p) for p in spec.privilege)
        lines.append(f"    PRIVILEGE_CLASSES: ClassVar[frozenset[str]] = frozenset({{{inner}}})")
    lines.append(_tuple(spec.since, "    ", "    SINCE: ClassVar[tuple[str, ...]] = "))
    if spec.fields:
        lines.append("    _FIELDS: ClassVar[FieldTable] = {")
        for f in spec.fields:
            entry = f'        "{f.attr}": ("{f.key}", {f.converter}),'
            if len(entry) > LINE:
                entry = (
                    f'        "{f.attr}": (\n            "{f.key}",\n'
                    f"            {f.converter},\n        ),"
                )
            lines.append(entry)
        lines.append("    }")
        lines.append("")
        for f in spec.fields:
            lines.append(f"    {f.attr}: {f.annotation} = {f.default}")
    return "\n".join(lines) + "\n"


def render_events(facts: dict[str, Any], specs: list[EventSpec]) -> str:
    out = [
        _header(facts),
        '"""Typed classes of every AMI event documented by Asterisk (see the header above)."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import ClassVar",
        "",
        "import attrs",
        "",
        "from ami_client._private.catalogue._base import (",
        "    EMPTY_BRIDGE,",
        "    EMPTY_CHANNEL,",
        "    BridgeSnapshot,",
        "    ChannelSnapshot,",
        "    FieldTable,",
        "    TypedEvent,",
        "    bridge_snapshot,",
        "    channel_snapshot,",
        ")",
        "from ami_client._private.catalogue._convert import (",
        "    ChannelState,",
        "    as_bool,",
        "    as_float,",
        "    as_int,",
        "    as_state,",
        "    as_str,",
        ")",
        "",
        "__all__ = [",
        *[f'    "{s.cls}",' for s in specs],
        '    "EVENT_CLASSES",',
        "]",
        "",
    ]
    text = "\n".join(out) + "\n"
    for spec in specs:
        text += "\n" + _event_class(spec) + "\n"
    text += "\n#: Every typed event class by its name on the wire.\n"
    text += "EVENT_CLASSES: dict[str, type[TypedEvent]] = {\n"
    text += "".join(f'    "{s.wire}": {s.cls},\n' for s in specs)
    text += "}\n"
    return _drop_unused_imports(text)


def _action_class(spec: ActionSpec, event_classes: dict[str, str]) -> str:
    since = ", ".join(spec.since) or "not documented"
    about = textwrap.fill(
        f"Documented since Asterisk {since}.",
        LINE,
        initial_indent="    ",
        subsequent_indent="    ",
    )
    lines = [
        "@attrs.frozen(kw_only=True, repr=False)",
        f"class {spec.cls}(TypedAction):",
        f'    """The ``{spec.name}`` action.',
        "",
        about,
        "",
        "    Reference:",
        f"    {DOCS_URL}/AMI_Actions/{spec.name}/",
        '    """',
        "",
        f'    ACTION_NAME: ClassVar[str] = "{spec.name}"',
        _tuple(spec.since, "    ", "    SINCE: ClassVar[tuple[str, ...]] = "),
    ]
    if spec.items or spec.complete:
        typed = [event_classes[n] for n in spec.items if n in event_classes]
        items = "".join(f"_ev.{c}, " for c in typed).rstrip(", ")
        if len(typed) == 1:
            items += ","
        line = f"    ITEM_EVENTS: ClassVar[tuple[type[TypedEvent], ...]] = ({items})"
        if len(line) > LINE:
            body = "".join(f"        _ev.{c},\n" for c in typed)
            line = f"    ITEM_EVENTS: ClassVar[tuple[type[TypedEvent], ...]] = (\n{body}    )"
        lines.append(line)
        lines.append(
            _tuple(list(spec.items), "    ", "    ITEM_EVENT_NAMES: ClassVar[tuple[str, ...]] = ")
        )
        if spec.complete in event_classes:
            lines.append(
                f"    COMPLETE_EVENT: ClassVar[type[TypedEvent] | None] = "
                f"_ev.{event_classes[spec.complete]}"
            )
        if spec.complete:
            lines.append(f'    COMPLETE_EVENT_NAME: ClassVar[str | None] = "{spec.complete}"')
    if spec.params:
        prefix = "    _PARAMS: ClassVar[tuple[tuple[str, str], ...]] = ("
        one = f'{prefix}("{spec.params[0].attr}", "{spec.params[0].key}"),)'
        if len(spec.params) == 1 and len(one) <= LINE:
            lines.append(one)  # ruff format joins a one-item tuple that fits
        else:
            lines.append(prefix)
            lines.extend(f'        ("{p.attr}", "{p.key}"),' for p in spec.params)
            lines.append("    )")
        lines.append("")
        for p in sorted(spec.params, key=lambda p: not p.required):
            if p.required:
                lines.append(f"    {p.attr}: {p.annotation}")
            else:
                lines.append(f"    {p.attr}: {p.annotation} | None = None")
    return "\n".join(lines) + "\n"


def render_actions(facts: dict[str, Any], specs: list[ActionSpec], events: list[EventSpec]) -> str:
    by_wire = {s.name: s.cls for s in events}
    by_wire.update({s.wire: s.cls for s in events})
    out = [
        _header(facts),
        '"""Typed classes of every AMI action documented by Asterisk (see the header above)."""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping, Sequence",
        "from typing import ClassVar",
        "",
        "import attrs",
        "",
        "from ami_client._private.catalogue import _generated_events as _ev",
        "from ami_client._private.catalogue._base import TypedAction, TypedEvent",
        "",
        "__all__ = [",
        *[f'    "{s.cls}",' for s in specs],
        '    "ACTION_CLASSES",',
        "]",
        "",
    ]
    text = "\n".join(out) + "\n"
    for spec in specs:
        text += "\n" + _action_class(spec, by_wire) + "\n"
    text += "\n#: Every typed action class by its name.\n"
    text += "ACTION_CLASSES: dict[str, type[TypedAction]] = {\n"
    text += "".join(f'    "{s.name}": {s.cls},\n' for s in specs)
    text += "}\n"
    return _drop_unused_imports(text)


def _drop_unused_imports(text: str) -> str:
    head, sep, body = text.partition("\n__all__ = [")
    kept = []
    for line in head.split("\n"):
        m = re.fullmatch(r"    (\w+),", line)
        if m and not re.search(rf"\b{m.group(1)}\b", body):
            continue
        kept.append(line)
    head = "\n".join(kept)
    if not re.search(r"\bSequence\b", body):
        head = head.replace(
            "from collections.abc import Mapping, Sequence", "from collections.abc import Mapping"
        )
    if not re.search(r"\bMapping\b", body):
        head = head.replace("from collections.abc import Mapping\n", "")
    return head + sep + body


def render(facts: dict[str, Any]) -> dict[Path, str]:
    """Every generated file and its text."""
    events = build_events(facts)
    actions = build_actions(facts, events)
    return {
        EVENTS_FILE: render_events(facts, events),
        ACTIONS_FILE: render_actions(facts, actions, events),
    }


def main(argv: list[str] | None = None) -> int:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the files are stale")
    parser.add_argument("--extract", type=Path, default=EXTRACT)
    args = parser.parse_args(argv)
    facts = json.loads(args.extract.read_text(encoding="utf-8"))
    outputs = render(facts)
    stale = [
        path
        for path, text in outputs.items()
        if not path.exists() or path.read_text(encoding="utf-8") != text
    ]
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(REPO)} (run: nox -s regen)", file=sys.stderr)
        return 1 if stale else 0
    for path in stale:
        path.write_text(outputs[path], encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
