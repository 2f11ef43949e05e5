"""The Faust agents: thin loops that call plain Python and write what it decided.

Every agent keeps concurrency=1: with more, Faust can commit past a message still in flight and
lose it on restart (faust-streaming issue #606). Scale with partitions and workers instead.
"""

from __future__ import annotations

from hub.agents.channels import register_channel_agents
from hub.agents.newsletters import register_newsletter_agents
from hub.agents.partners import register_partner_agents
from hub.agents.planning import register_planning_agents
from hub.agents.records import register_record_agents
from hub.agents.telegram import register_telegram_bot
from hub.app import Runtime
from hub.routing import ChannelKey


def register_agents(rt: Runtime) -> None:
    """Attach every agent, timer and crontab to the runtime's app."""
    register_planning_agents(rt)
    for channel in rt.channels.values():
        register_channel_agents(rt, channel)
    register_record_agents(rt)
    register_partner_agents(rt)
    if ChannelKey.TELEGRAM in rt.channels and rt.settings.telegram.poll_updates:
        register_telegram_bot(rt)
    register_newsletter_agents(rt)
