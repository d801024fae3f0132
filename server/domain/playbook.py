"""The playbook: the sales process as data (stages, nodes, materials, deadlines, templates).

A YAML file decoded into strict msgspec Structs, then checked for meaning
(unique keys, known relations, sensible deadlines). Every error carries the
line of the file it is about. Pure: text in, Playbook or errors out.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

import msgspec
import yaml
from msgspec import Meta

FILE_TYPES = ("pdf", "jpeg", "png", "webp", "heic", "xlsx")
ROLES = ("rep", "manager", "presales", "delivery", "service", "commercial", "legal", "admin")
Key = Annotated[str, Meta(pattern=r"^[a-z][a-z0-9_]{0,63}$", description="lower-case key")]


class Strict(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, frozen=True):
    pass


class Text(Strict, kw_only=True):
    """A bilingual name."""

    zh: Annotated[str, Meta(min_length=1, max_length=200)]
    en: Annotated[str, Meta(min_length=1, max_length=200)]

    def pick(self, locale: str) -> str:
        return self.zh if locale == "zh_CN" else self.en


class Material(Strict, kw_only=True):
    key: Key
    name: Text
    types: Annotated[list[Literal["pdf", "jpeg", "png", "webp", "heic", "xlsx"]], Meta(min_length=1)]
    max_mb: Annotated[float, Meta(gt=0, le=200)] = 20


class Deadline(Strict, kw_only=True):
    amount: Annotated[float, Meta(gt=0, le=10_000)]
    unit: Literal["hours", "working_days"]
    from_: Literal["stage_entry", "last_customer_contact", "last_owner_note"] = msgspec.field(
        default="stage_entry", name="from")


class Escalation(Strict, kw_only=True):
    after_hours: Annotated[float, Meta(ge=0, le=10_000)] = 0
    notify: Annotated[list[str], Meta(min_length=1)]


class Node(Strict, kw_only=True):
    key: Key
    name: Text
    executor: str
    collaborators: list[str] = []
    supervisor: str = "owner.manager"
    gate: bool = False
    materials: list[Material] = []
    fields: list[Key] = []
    deadline: Deadline | None = None
    escalation: list[Escalation] = []
    completion: Literal["materials", "transition", "note", "activity", "fields"] = "materials"
    urgent: bool = False
    substate: Key | None = None  # in a stage with substates: the substate this node belongs to
    # The manager board's key-account line: the lane this node is drawn in (left off the board when unset).
    board_lane: Literal["contract", "delivery", "service"] | None = None


class Stage(Strict, kw_only=True):
    key: Key
    name: Text
    nodes: list[Node] = []
    substates: list[Key] = []
    substate_names: dict[str, Text] = {}
    silence_days: Annotated[int, Meta(ge=1, le=365)] | None = None
    terminal: Literal["won", "lost"] | None = None


class Field(Strict, kw_only=True):
    key: Key
    name: Text
    type: Literal["text", "number", "date", "money"] = "text"


class Kind(Strict, kw_only=True):
    key: Key
    name: Text
    customer_facing: bool = False


class Product(Strict, kw_only=True):
    key: Key
    name: Text


class TemplateField(Strict, kw_only=True):
    key: Key
    name: Text
    type: Literal["text", "phone", "email", "date", "number", "products", "select", "customer", "textarea"] = "text"
    required: bool = False
    prefill: str | None = None
    options: list[Key] = []
    option_names: dict[str, Text] = {}


class Template(Strict, kw_only=True):
    key: Key
    name: Text
    scenario: Literal["trade_show", "repeat_order", "visit_log", "custom"]
    fields: list[TemplateField]
    stage: Key | None = None  # repeat_order: the stage its new opportunity starts in (default: the first)
    activity_kind: Literal["call", "visit", "meeting", "message", "note"] | None = None  # what saving records


class Thresholds(Strict, kw_only=True):
    stage_transition_days: Annotated[float, Meta(gt=0)] = 5.2
    material_completeness: Annotated[float, Meta(ge=0, le=1)] = 0.94
    silent_rate: Annotated[float, Meta(ge=0, le=1)] = 0.085
    silent_days: Annotated[int, Meta(ge=1)] = 7
    from_stage: str = "initial_contact"
    to_stage: str = "solution_confirmed"


class Playbook(Strict, kw_only=True):
    version: Annotated[str, Meta(min_length=1, max_length=64)]
    name: Text
    stages: Annotated[list[Stage], Meta(min_length=1)]
    fields: list[Field] = []
    products: list[Product] = []
    activity_kinds: list[Kind] = []
    contribution_kinds: list[Kind] = []
    templates: list[Template] = []
    silence_days: Annotated[int, Meta(ge=1, le=365)] = 7
    snooze_max_days: Annotated[int, Meta(ge=1, le=365)] = 30
    phi: Thresholds = Thresholds()

    def stage(self, key: str) -> Stage | None:
        return next((s for s in self.stages if s.key == key), None)

    @property
    def nodes(self) -> list[tuple[Stage, Node]]:
        return [(s, n) for s in self.stages for n in s.nodes]

    def node(self, key: str) -> Node | None:
        return next((n for s in self.stages for n in s.nodes if n.key == key), None)


class PlaybookProblem(msgspec.Struct, frozen=True):
    line: int | None
    path: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "file"
        return f"{where}: {self.message} (at {self.path})"


class PlaybookInvalid(ValueError):
    def __init__(self, problems: list[PlaybookProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


# ---------------------------------------------------------------- decoding

_CHOICES = {
    "unit": ("hours", "working_days"),
    "from": ("stage_entry", "last_customer_contact", "last_owner_note"),
    "types": FILE_TYPES,
    "completion": ("materials", "transition", "note", "activity", "fields"),
    "terminal": ("won", "lost"),
    "board_lane": ("contract", "delivery", "service"),
    "scenario": ("trade_show", "repeat_order", "visit_log", "custom"),
    "type": ("text", "number", "date", "money", "phone", "email", "products", "select", "customer", "textarea"),
}


def _line_map(node: yaml.Node, path: str, out: dict[str, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            child = f"{path}.{key_node.value}"
            out[child] = key_node.start_mark.line + 1
            _line_map(value_node, child, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _line_map(item, f"{path}[{i}]", out)


def _line_for(path: str, lines: dict[str, int]) -> int | None:
    probe = path
    while probe:
        if probe in lines:
            return lines[probe]
        probe = re.sub(r"(\.[^.\[]+|\[\d+\])$", "", probe)
        if probe == "$":
            return lines.get("$")
    return None


def _problem(exc: msgspec.ValidationError, prefix: str, lines: dict[str, int]) -> PlaybookProblem:
    """A msgspec error as a problem at a path of the whole file (`prefix` replaces the leading `$`)."""
    message = str(exc)
    match = re.search(r" - at `(\$[^`]*)`$", message)
    path = prefix + (match.group(1)[1:] if match else "")
    text_msg = message[: match.start()] if match else message
    unknown = re.search(r"unknown field `([^`]+)`", text_msg)
    if unknown and f"{path}.{unknown.group(1)}" in lines:
        path = f"{path}.{unknown.group(1)}"
    if text_msg.startswith("Invalid enum value"):
        field = re.sub(r"\[\d+\]$", "", path).rsplit(".", 1)[-1]
        if field in _CHOICES:
            text_msg += f"; use one of: {', '.join(_CHOICES[field])}"
    return PlaybookProblem(_line_for(path, lines), path, text_msg)


def _type_problems(data: dict, lines: dict[str, int]) -> list[PlaybookProblem]:
    """Type errors of every node and every stage, then of the rest: msgspec stops at the first
    error of what it decodes, so each node and stage is decoded on its own."""
    problems: list[PlaybookProblem] = []
    stages = data.get("stages")
    if isinstance(stages, list):
        for i, stage in enumerate(stages):
            nodes = stage.get("nodes") if isinstance(stage, dict) else None
            if isinstance(nodes, list):
                for j, node in enumerate(nodes):
                    try:
                        msgspec.convert(node, Node)
                    except msgspec.ValidationError as exc:
                        problems.append(_problem(exc, f"$.stages[{i}].nodes[{j}]", lines))
            try:
                msgspec.convert({**stage, "nodes": []} if isinstance(nodes, list) else stage, Stage)
            except msgspec.ValidationError as exc:
                problems.append(_problem(exc, f"$.stages[{i}]", lines))
        placeholder = [{"key": "x", "name": {"zh": "x", "en": "x"}}] if stages else stages
        rest = {**data, "stages": placeholder}
    else:
        rest = data
    try:
        msgspec.convert(rest, Playbook)
    except msgspec.ValidationError as exc:
        problems.append(_problem(exc, "$", lines))
    return problems


def parse_playbook(text: str) -> Playbook:
    """Decode and check a playbook; raise PlaybookInvalid listing every problem with its line."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        problem = getattr(exc, "problem", None) or str(exc)
        raise PlaybookInvalid([PlaybookProblem(line, "$", f"not valid YAML: {problem}")]) from None
    if root is None or not isinstance(data, dict):
        raise PlaybookInvalid([PlaybookProblem(1, "$", "the file must be a YAML mapping with version, name, stages")])
    lines: dict[str, int] = {}
    _line_map(root, "$", lines)
    type_problems = _type_problems(data, lines)
    if type_problems:
        raise PlaybookInvalid(type_problems)
    playbook = msgspec.convert(data, Playbook)
    problems = [PlaybookProblem(_line_for(path, lines), path, msg) for path, msg in check_meaning(playbook)]
    if problems:
        raise PlaybookInvalid(problems)
    return playbook


# ---------------------------------------------------------------- meaning

_RELATION = re.compile(r"^(owner|owner\.manager|owner\.manager\.manager|role:[a-z]+|user:[A-Za-z0-9._-]{1,64})$")
_NOTIFY = {"executor", "supervisor", "supervisor.manager", "collaborators"}


def relation_problem(relation: str) -> str | None:
    if not _RELATION.match(relation):
        return (f"{relation!r} is not a relation; use owner, owner.manager, owner.manager.manager, "
                "role:<role> or user:<username>")
    if relation.startswith("role:") and relation[5:] not in ROLES:
        return f"unknown role {relation[5:]!r}; known roles: {', '.join(ROLES)}"
    return None


def _duplicates(keys: list[str]) -> set[str]:
    seen, dup = set(), set()
    for k in keys:
        (dup if k in seen else seen).add(k)
    return dup


def check_meaning(pb: Playbook) -> list[tuple[str, str]]:
    """(path, message) for every problem a type check cannot see."""
    out: list[tuple[str, str]] = []
    for dup in _duplicates([s.key for s in pb.stages]):
        out.append(("$.stages", f"stage key {dup!r} is used twice"))
    all_nodes = [n.key for s in pb.stages for n in s.nodes]
    for dup in _duplicates(all_nodes):
        out.append(("$.stages", f"node key {dup!r} is used twice; node keys must be unique in the playbook"))
    field_keys = {f.key for f in pb.fields}
    stage_keys = {s.key for s in pb.stages}
    open_stages = [s for s in pb.stages if s.terminal is None]
    if not open_stages:
        out.append(("$.stages", "at least one stage must be open (not won or lost)"))
    if not any(s.terminal == "lost" for s in pb.stages):
        out.append(("$.stages", "a stage with terminal: lost is needed (deals can be lost from anywhere)"))
    for si, stage in enumerate(pb.stages):
        sp = f"$.stages[{si}]"
        for dup in _duplicates(stage.substates):
            out.append((f"{sp}.substates", f"substate {dup!r} is listed twice"))
        for key in stage.substate_names:
            if key not in stage.substates:
                out.append((f"{sp}.substate_names.{key}", f"{key!r} is not one of this stage's substates"))
        if stage.terminal and stage.nodes:
            out.append((f"{sp}.nodes", "a won or lost stage has no nodes"))
        for ni, node in enumerate(stage.nodes):
            out += _check_node(node, f"{sp}.nodes[{ni}]", field_keys)
            if node.substate is not None and node.substate not in stage.substates:
                out.append((f"{sp}.nodes[{ni}].substate", f"{node.substate!r} is not a substate of {stage.key!r}"))
    for path, stage_key in (("$.phi.from_stage", pb.phi.from_stage), ("$.phi.to_stage", pb.phi.to_stage)):
        if stage_key not in stage_keys:
            out.append((path, f"no stage {stage_key!r}"))
    for name, kinds in (("activity_kinds", pb.activity_kinds), ("contribution_kinds", pb.contribution_kinds),
                        ("products", pb.products), ("templates", pb.templates), ("fields", pb.fields)):
        for dup in _duplicates([k.key for k in kinds]):
            out.append((f"$.{name}", f"key {dup!r} is used twice"))
    product_keys = {p.key for p in pb.products}
    for ti, template in enumerate(pb.templates):
        for fi, field in enumerate(template.fields):
            if field.type == "products" and not product_keys:
                out.append((f"$.templates[{ti}].fields[{fi}]", "a products field needs the products catalogue"))
            if field.prefill is not None and field.prefill not in PREFILL_SOURCES:
                out.append((f"$.templates[{ti}].fields[{fi}].prefill",
                            f"unknown prefill source {field.prefill!r}; use one of {', '.join(PREFILL_SOURCES)}"))
        if template.stage is not None and (template.stage not in stage_keys or pb.stage(template.stage).terminal):
            out.append((f"$.templates[{ti}].stage", f"{template.stage!r} is not an open stage"))
        needs = {"repeat_order": ("customer", "products"), "visit_log": ("customer",)}.get(template.scenario, ())
        kinds = {f.type for f in template.fields}
        for kind in needs:
            if kind not in kinds:
                out.append((f"$.templates[{ti}].fields", f"a {template.scenario} template needs a {kind} field"))
    return out


# Where a quick-entry field may take its first value from (a customer's history).
PREFILL_SOURCES = ("customer.last_contract_no", "customer.last_delivery_date", "customer.last_products",
                   "customer.last_quantity", "customer.key_contacts")


def _check_node(node: Node, np: str, field_keys: set[str]) -> list[tuple[str, str]]:
    out = []
    for path, relation in [(f"{np}.executor", node.executor), (f"{np}.supervisor", node.supervisor),
                           *[(f"{np}.collaborators[{i}]", c) for i, c in enumerate(node.collaborators)]]:
        problem = relation_problem(relation)
        if problem:
            out.append((path, problem))
    for dup in _duplicates([m.key for m in node.materials]):
        out.append((f"{np}.materials", f"material {dup!r} is listed twice"))
    for fi, key in enumerate(node.fields):
        if key not in field_keys:
            out.append((f"{np}.fields[{fi}]", f"no field {key!r} in the playbook's fields"))
    if node.completion == "materials" and not node.materials and not node.fields:
        out.append((f"{np}.completion", "completion by materials needs at least one material or field"))
    if node.escalation and node.deadline is None:
        out.append((f"{np}.escalation", "escalation steps need a deadline"))
    last = -1.0
    for ei, step in enumerate(node.escalation):
        if step.after_hours <= last:
            out.append((f"{np}.escalation[{ei}].after_hours", "escalation steps must come later and later"))
        last = step.after_hours
        for ti, target in enumerate(step.notify):
            if target not in _NOTIFY and relation_problem(target):
                out.append((f"{np}.escalation[{ei}].notify[{ti}]",
                            f"{target!r}: notify executor, supervisor, supervisor.manager, collaborators "
                            "or a relation"))
    if node.deadline and node.deadline.unit == "working_days" and node.deadline.amount != int(node.deadline.amount):
        out.append((f"{np}.deadline.amount", "working days must be a whole number"))
    return out
