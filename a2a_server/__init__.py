"""PostHog AI as an A2A (Agent2Agent protocol) agent: the fourth face of max-tools.

``a2a-sdk`` does the protocol (JSON-RPC and HTTP+JSON bindings of spec 1.0, with the 0.3 method
names); this package maps it onto the agent layer: a conversation is a context, each message a
task, an approval or a form is ``input-required``, a chart an artifact, ``CancelTask`` a cancel.
Tasks are read from PostHog, so any replica serves any task. Who calls, with which PostHog
credentials, is `max_tools.hosting`'s business (`ServerKeyAuth`, `HostedAuth`), as for max-mcp.
Run it with ``max-a2a``.
"""

from a2a_server._app import A2AOptions, create_app
from a2a_server._card import SKILLS, build_card

__all__ = ["SKILLS", "A2AOptions", "build_card", "create_app"]
