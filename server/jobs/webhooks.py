"""The chat-robot job: each team robot gets what waits for it, folded into as few messages as its limit needs."""

from __future__ import annotations

from datetime import datetime

from server.queries import webhooks


async def run(now: datetime, deps) -> str:
    await webhooks.release_stuck(now)
    delivered = 0
    hooks = await webhooks.enabled_hooks()
    for hook in hooks:
        if hook["url"] and not webhooks.endpoint_problem(hook["url"], deps.settings.webhook_hosts):
            delivered += await webhooks.deliver(hook, now, deps.playbook, deps.settings.tz,
                                                deps.settings.default_locale, deps.settings.public_url)
    return f"chat robots: {delivered} alerts delivered to {len(hooks)} robots"
