"""Quick-entry templates: check what a rep entered against the template's fields, and say what saving records.

Templates are playbook data (fields, types, defaults, prefill sources), so an
admin adds a scenario without code. Pure: values in, clean values or the first
problem (with its field) out; `today` is a parameter.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta

from server.domain.playbook import Playbook, Template, TemplateField

TEXT_LIMIT = 500


class TemplateProblem(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def _text(field: TemplateField, value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TemplateProblem(field.key, f"{field.name.en} must be text.")
    value = value.strip()
    if len(value) > TEXT_LIMIT:
        raise TemplateProblem(field.key, f"{field.name.en} is longer than {TEXT_LIMIT} characters.")
    if value and field.type == "select" and field.options and value not in field.options:
        raise TemplateProblem(field.key, f"{field.name.en} must be one of {', '.join(field.options)}.")
    return value or None


def _number(field: TemplateField, value) -> float | None:
    if value in (None, ""):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TemplateProblem(field.key, f"{field.name.en} must be a number.") from None
    if not 0 < number <= 1_000_000_000:
        raise TemplateProblem(field.key, f"{field.name.en} must be more than 0.")
    return int(number) if number.is_integer() else number


def _date(field: TemplateField, value, today: date) -> str | None:
    if value in (None, ""):
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        raise TemplateProblem(field.key, f"{field.name.en} must be a date like 2026-12-31.") from None
    if abs((day - today).days) > 3660:
        raise TemplateProblem(field.key, f"{field.name.en} is more than ten years away.")
    return day.isoformat()


def _products(field: TemplateField, value, known: set[str]) -> list[str] | None:
    if value in (None, []):
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or len(value) > 20:
        raise TemplateProblem(field.key, f"{field.name.en} must be a list of product keys.")
    unknown = [v for v in value if v not in known]
    if unknown:
        raise TemplateProblem(field.key, f"Unknown product(s): {', '.join(unknown)}.")
    return list(dict.fromkeys(value))


def clean_values(template: Template, values: dict, pb: Playbook, today: date) -> dict:
    """The template's values, typed and checked; unknown keys are refused, required ones must be there."""
    if not isinstance(values, dict):
        raise TemplateProblem("values", "values must be an object of field keys.")
    known = {f.key for f in template.fields}
    extra = sorted(set(values) - known)
    if extra:
        raise TemplateProblem(extra[0], f"{template.name.en} has no field {extra[0]!r}.")
    products = {p.key for p in pb.products}
    out: dict = {}
    for field in template.fields:
        raw = values.get(field.key)
        if field.type == "number":
            value = _number(field, raw)
        elif field.type == "date":
            value = _date(field, raw, today)
        elif field.type == "products":
            value = _products(field, raw, products)
        else:
            value = _text(field, raw)
        if value is None and field.required:
            raise TemplateProblem(field.key, f"{field.name.en} is required.")
        if value is not None:
            out[field.key] = value
    return out


def option_name(field: TemplateField, key: str, locale: str) -> str:
    name = field.option_names.get(key)
    return name.pick(locale) if name else key


def summary(template: Template, clean: dict, pb: Playbook, locale: str, skip: tuple[str, ...] = ("customer",)) -> str:
    """The activity note a saved entry leaves: "Label: value" lines in the saver's language."""
    names = {p.key: p.name.pick(locale) for p in pb.products}
    lines = [template.name.pick(locale)]
    for field in template.fields:
        if field.key in skip or field.key not in clean:
            continue
        value = clean[field.key]
        if field.type == "products":
            value = "、".join(names.get(v, v) for v in value)
        elif field.type == "select":
            value = option_name(field, value, locale)
        lines.append(f"{field.name.pick(locale)}：{value}")
    return "\n".join(lines)[:2000]


def quick_dates(today: date) -> dict[str, date]:
    """The date quick picks of a form: next week (same weekday), the end of this month, of next month."""
    last = calendar.monthrange(today.year, today.month)[1]
    month_end = today.replace(day=last)
    if month_end == today:
        nxt = (today + timedelta(days=1))
        month_end = nxt.replace(day=calendar.monthrange(nxt.year, nxt.month)[1])
    following = (month_end + timedelta(days=1))
    return {"next_week": today + timedelta(days=7), "month_end": month_end,
            "next_month_end": following.replace(day=calendar.monthrange(following.year, following.month)[1])}
