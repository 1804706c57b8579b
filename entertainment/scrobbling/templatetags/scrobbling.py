from __future__ import annotations

from typing import Any

from django import template

from entertainment.scrobbling.models import PlexWebhook

register = template.Library()


@register.inclusion_tag("scrobbling/_plex_webhook.html", takes_context=True)
def plex_webhook_section(context: dict[str, Any]) -> dict[str, Any]:
    """The account page's Plex section: whether a webhook URL exists (never the URL)."""
    request = context["request"]
    hook = PlexWebhook.objects.filter(user_id=request.user.pk).first()
    return {"hook": hook, "csrf_token": context.get("csrf_token")}
