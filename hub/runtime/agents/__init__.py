"""The Faust agents: thin loops that call plain Python and write what it decided.

Every agent keeps concurrency=1: with more, Faust can commit past a message still in flight and
lose it on restart (faust-streaming issue #606). Scale with partitions and workers instead, and
within one actor: the delivery agent sends many messages at once and acknowledges each partition in
order by hand (hub.delivery.inflight).
"""

from __future__ import annotations

from hub.model.deliveries import ChannelKey
from hub.runtime.agents.bounces import register_bounce_agent
from hub.runtime.agents.channels import register_channel_agents
from hub.runtime.agents.console import register_console_scheduler
from hub.runtime.agents.consumer_metrics import register_consumer_metrics
from hub.runtime.agents.erasure import register_erasure_timer
from hub.runtime.agents.newsletters import register_newsletter_agents
from hub.runtime.agents.partners import register_partner_agents
from hub.runtime.agents.planning import register_planning_agents
from hub.runtime.agents.publishers import register_publisher_records
from hub.runtime.agents.records import register_record_agents
from hub.runtime.agents.retries import register_retry_agents
from hub.runtime.agents.telegram import register_telegram_bot
from hub.runtime.agents.telegram_budget import register_telegram_budget
from hub.runtime.app import Runtime


def register_agents(rt: Runtime) -> None:
    """Attach every agent, timer and crontab to the runtime's app."""
    register_planning_agents(rt)
    for channel in rt.channels.values():
        register_channel_agents(rt, channel)
        register_retry_agents(rt, channel)
    register_record_agents(rt)
    register_partner_agents(rt)
    if ChannelKey.TELEGRAM in rt.channels:
        register_telegram_budget(rt)
    if ChannelKey.TELEGRAM in rt.channels and rt.settings.telegram.poll_updates:
        register_telegram_bot(rt)
    register_newsletter_agents(rt)
    register_publisher_records(rt)
    register_erasure_timer(rt)
    register_console_scheduler(rt)
    register_consumer_metrics(rt)
    register_bounce_agent(rt)
