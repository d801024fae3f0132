"""GET /api/v1/playbook: the active playbook, names in the caller's language."""

from __future__ import annotations

from litestar import Request, get

from server.domain.playbook import Playbook, Text
from server.routes.pages import request_locale


def _pick(text: Text, locale: str) -> str:
    return text.pick(locale)


def playbook_json(pb: Playbook, locale: str) -> dict:
    def named(obj) -> dict:
        return {"key": obj.key, "name": _pick(obj.name, locale), "names": {"zh": obj.name.zh, "en": obj.name.en}}

    stages = []
    for stage in pb.stages:
        stages.append({
            **named(stage),
            "terminal": stage.terminal,
            "silence_days": stage.silence_days or pb.silence_days,
            "substates": [{"key": k, "name": _pick(stage.substate_names[k], locale) if k in stage.substate_names else k}
                          for k in stage.substates],
            "nodes": [{
                **named(node), "gate": node.gate, "executor": node.executor,
                "collaborators": list(node.collaborators), "supervisor": node.supervisor,
                "substate": node.substate, "completion": node.completion, "urgent": node.urgent,
                "deadline": None if node.deadline is None else {
                    "amount": node.deadline.amount, "unit": node.deadline.unit, "from": node.deadline.from_},
                "escalation": [{"after_hours": e.after_hours, "notify": list(e.notify)} for e in node.escalation],
                "fields": list(node.fields),
                "materials": [{**named(m), "types": list(m.types), "max_mb": m.max_mb} for m in node.materials],
            } for node in stage.nodes],
        })
    return {
        "version": pb.version, **{"name": _pick(pb.name, locale)},
        "stages": stages,
        "fields": [{**named(f), "type": f.type} for f in pb.fields],
        "products": [named(p) for p in pb.products],
        "activity_kinds": [{**named(k), "customer_facing": k.customer_facing} for k in pb.activity_kinds],
        "contribution_kinds": [named(k) for k in pb.contribution_kinds],
        "templates": [{**named(t), "scenario": t.scenario, "fields": [
            {**named(f), "type": f.type, "required": f.required, "prefill": f.prefill, "options": list(f.options)}
            for f in t.fields]} for t in pb.templates],
        "silence_days": pb.silence_days,
        "snooze_max_days": pb.snooze_max_days,
        "phi_thresholds": {"stage_transition_days": pb.phi.stage_transition_days,
                           "material_completeness": pb.phi.material_completeness,
                           "silent_rate": pb.phi.silent_rate, "silent_days": pb.phi.silent_days},
    }


@get("/api/v1/playbook", tags=["playbook"])
async def get_playbook(request: Request) -> dict:
    return playbook_json(request.app.state.playbook, request_locale(request))


PLAYBOOK_HANDLERS = [get_playbook]
