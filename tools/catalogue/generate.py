"""Generate the typed catalogue modules from the committed extract of Asterisk's documentation.

Reads ``tools/catalogue/asterisk-22.json`` (written by ``extract.py``) and writes, under
``ami_client/_private/catalogue/``, one module per typed class (``_events/<name>.py``,
``_actions/<name>.py``) and the two index modules ``_generated_events.py`` and
``_generated_actions.py`` that list them, import each on first use and let type checkers see
them all (see ``_lazy.py``). Offline and deterministic: the same extract always gives the same
bytes. Modules in ``_events/`` and ``_actions/`` that a run does not write are deleted (and
reported as stale by ``--check``).

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
EVENTS_DIR = OUT_DIR / "_events"
ACTIONS_DIR = OUT_DIR / "_actions"
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


_EVENT_IMPORTS = [
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
]


def module_name(cls: str) -> str:
    """The module of a generated class: ``AGIExecEnd`` -> ``agi_exec_end``."""
    name = snake(cls)
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"no module name for class {cls!r}")
    return name


def _modules_of(classes: list[str]) -> dict[str, str]:
    """Class -> module name, refusing two classes in one module (names that differ by case)."""
    modules = {cls: module_name(cls) for cls in classes}
    if len(set(modules.values())) != len(modules):
        raise ValueError("two generated classes would share a module name")
    return modules


def _package_init(facts: dict[str, Any], what: str) -> str:
    return (
        _header(facts)
        + f'\n"""One module per typed {what} class, imported on first use (see ``_lazy.py``)."""\n'
    )


def render_event_module(facts: dict[str, Any], spec: EventSpec) -> str:
    out = [
        _header(facts),
        f'"""The typed ``{spec.wire}`` event (see the header above)."""',
        "",
        *_EVENT_IMPORTS,
        f'__all__ = ["{spec.cls}"]',
        "",
    ]
    text = "\n".join(out) + "\n\n" + _event_class(spec)
    return _drop_unused_imports(text)


def _fit(line: str) -> str:
    """A generated line that cannot be split (a long name), marked as such for ruff."""
    return line if len(line) <= LINE else line + "  # noqa: E501"


def _index(
    facts: dict[str, Any],
    *,
    what: str,
    package: str,
    base: str,
    mapping: str,
    by_name: dict[str, str],
    modules: dict[str, str],
) -> str:
    """An index module: every class for type checkers, the lazy mapping and ``__getattr__``."""
    out = [
        _header(facts),
        f'"""Index of the typed {what} classes: one module per class in ``{package[1:]}/``,',
        'each imported on first use (see ``_lazy.py``)."""',
        "",
        "from __future__ import annotations",
        "",
        "from typing import TYPE_CHECKING, Final",
        "",
        f"from ami_client._private.catalogue._base import {base}",
        "from ami_client._private.catalogue._lazy import (",
        f"    {package[1:].upper()}_PACKAGE,",
        "    LazyClasses,",
        "    module_getattr,",
        ")",
        "",
        "if TYPE_CHECKING:",
    ]
    for cls, module in sorted(modules.items(), key=lambda item: item[1]):
        line = f"    from ami_client._private.catalogue.{package}.{module} import {cls}"
        if len(line) > LINE:
            first = _fit(f"    from ami_client._private.catalogue.{package}.{module} import (")
            line = f"{first}\n        {cls},\n    )"
        out.append(line)
    out += [
        "",
        "__all__ = [",
        *[f'    "{cls}",' for cls in modules],
        f'    "{mapping}",',
        "]",
        "",
        f"#: Every typed {what} class by its name{' on the wire' if what == 'event' else ''}, "
        "each imported when first read.",
        f"{mapping}: Final[LazyClasses[type[{base}]]] = LazyClasses(",
        f"    {package[1:].upper()}_PACKAGE,",
        "    {",
        *[_fit(f'        "{name}": "{cls}",') for name, cls in by_name.items()],
        "    },",
        "    {",
        *[_fit(f'        "{cls}": "{module}",') for cls, module in modules.items()],
        "    },",
        ")",
        "",
        "if not TYPE_CHECKING:  # (type checkers see every class, and only those)",
        f"    __getattr__ = module_getattr(__name__, globals(), {mapping})",
    ]
    return "\n".join(out) + "\n"


def render_events(facts: dict[str, Any], specs: list[EventSpec]) -> str:
    modules = _modules_of([s.cls for s in specs])
    return _index(
        facts,
        what="event",
        package="_events",
        base="TypedEvent",
        mapping="EVENT_CLASSES",
        by_name={s.wire: s.cls for s in specs},
        modules=modules,
    )


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


def render_action_module(facts: dict[str, Any], spec: ActionSpec, events: list[EventSpec]) -> str:
    by_wire = {s.name: s.cls for s in events}
    by_wire.update({s.wire: s.cls for s in events})
    out = [
        _header(facts),
        f'"""The typed ``{spec.name}`` action (see the header above)."""',
        "",
        "from __future__ import annotations",
        "",
        "from collections.abc import Mapping, Sequence",
        "from typing import ClassVar",
        "",
        "import attrs",
        "",
        "from ami_client._private.catalogue import _generated_events as _ev",
        "from ami_client._private.catalogue._base import (",
        "    TypedAction,",
        "    TypedEvent,",
        ")",
        "",
        f'__all__ = ["{spec.cls}"]',
        "",
    ]
    text = "\n".join(out) + "\n\n" + _action_class(spec, by_wire)
    text = _drop_unused_imports(text)
    if "_ev." not in text:
        text = text.replace(
            "from ami_client._private.catalogue import _generated_events as _ev\n", ""
        )
    return text


def render_actions(facts: dict[str, Any], specs: list[ActionSpec]) -> str:
    return _index(
        facts,
        what="action",
        package="_actions",
        base="TypedAction",
        mapping="ACTION_CLASSES",
        by_name={s.name: s.cls for s in specs},
        modules=_modules_of([s.cls for s in specs]),
    )


def _drop_unused_imports(text: str) -> str:
    """Drop the names imported before ``__all__`` that the rest of the module does not use,
    and the import statements left empty."""
    head, sep, body = text.partition("\n__all__ = [")

    def used(name: str) -> bool:
        return re.search(rf"\b{name}\b", body) is not None

    kept: list[str] = []
    opened = 0  # index in kept of the open `from ... import (` line
    for line in head.split("\n"):
        if line.endswith(" import ("):
            opened = len(kept)
        elif m := re.fullmatch(r"    (\w+),", line):
            if not used(m.group(1)):
                continue
        elif line == ")" and len(kept) == opened + 1:
            kept.pop()  # every name of the statement dropped: the statement too
            continue
        elif line.startswith("from __future__"):
            pass
        elif m := re.fullmatch(r"(from [\w.]+ import )(\w+(?:, \w+)*)", line):
            names = [n for n in m.group(2).split(", ") if used(n)]
            if not names:
                continue
            line = m.group(1) + ", ".join(names)
        kept.append(line)
    head = re.sub(r"\n\n\n+", "\n\n", "\n".join(kept))
    return head + sep + body


def render(facts: dict[str, Any]) -> dict[Path, str]:
    """Every generated file and its text."""
    events = build_events(facts)
    actions = build_actions(facts, events)
    outputs = {
        EVENTS_FILE: render_events(facts, events),
        ACTIONS_FILE: render_actions(facts, actions),
        EVENTS_DIR / "__init__.py": _package_init(facts, "event"),
        ACTIONS_DIR / "__init__.py": _package_init(facts, "action"),
    }
    for spec in events:
        outputs[EVENTS_DIR / f"{module_name(spec.cls)}.py"] = render_event_module(facts, spec)
    for action in actions:
        path = ACTIONS_DIR / f"{module_name(action.cls)}.py"
        outputs[path] = render_action_module(facts, action, events)
    return outputs


def _extra_files(outputs: dict[Path, str]) -> list[Path]:
    """Modules in the generated packages that this run does not write (left by an older run)."""
    return sorted(
        path
        for folder in (EVENTS_DIR, ACTIONS_DIR)
        if folder.is_dir()
        for path in folder.glob("*.py")
        if path not in outputs
    )


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
    extra = _extra_files(outputs)
    if args.check:
        for path in stale:
            print(f"stale: {path.relative_to(REPO)} (run: nox -s regen)", file=sys.stderr)
        for path in extra:
            print(f"not generated: {path.relative_to(REPO)} (run: nox -s regen)", file=sys.stderr)
        return 1 if stale or extra else 0
    for path in stale:
        path.parent.mkdir(exist_ok=True)
        path.write_text(outputs[path], encoding="utf-8")
        print(f"wrote {path.relative_to(REPO)}", file=sys.stderr)
    for path in extra:
        path.unlink()
        print(f"deleted {path.relative_to(REPO)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
