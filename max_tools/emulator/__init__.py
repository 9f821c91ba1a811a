"""An offline emulator of PostHog AI's conversations API, for building and testing agents.

Serve it in-process with `serve()` (async) or `serve_in_thread()` (sync code, test suites), or
from the shell with ``max-tools emulator``.
Install the ``emulator`` extra (starlette, uvicorn).

Testing your agent against it
-----------------------------
`serve()` and `serve_in_thread()` give a `RunningEmulator`. Besides `url` and `env()`, it steers
and reads the emulator, from the test's own thread or event loop:

- ``hold()`` / ``release()`` / ``with held():`` keep runs ``in_progress`` before they write their
  answer, to test busy conversations, queued follow-ups, cancels and short wait budgets.
- ``set_faults(**faults)``, ``reset_faults()``, ``fault_state()``: HTTP errors for the next
  requests (``status``, ``count``, ``retry_after``), cut streams (``drop_after_events``), a
  silent run (``stall_s``), ``unknown_events``, ``garble_utf8``, ``action_failure``, and the
  standing switches ``throttle``, ``quota_exceeded``, ``scoped_keys``, ``trim_on_disconnect``.
- ``conversation(id)``: a `ConversationState` with the status, every stored message (what your
  agent sent, as PostHog stored it), the queue, and the running run's readers and reconnects.
- ``add_human_message(id, text)``: a message the user wrote elsewhere, without starting a run.
- ``delete_key(key)``: a personal API key deleted; later requests get 401, open streams run on.
- ``stats()`` (`EmulatorStats`): connections, ``peak_requests_in_flight``, ``requests`` (what
  a client spent), conversations, and ``running()``, the ids of conversations with a run going on.

The same is served over HTTP, for an emulator in another process (``max-tools emulator``):
``GET /_emulator/health``, ``GET /_emulator/stats``, ``GET|POST|DELETE /_emulator/faults``
(``{"hold": true}`` holds runs), ``GET /_emulator/conversations/<id>`` and
``POST /_emulator/conversations/<id>/messages`` with ``{"content": "..."}``.

Sign in with PostHog
--------------------
The emulator plays PostHog's OAuth 2.1 authorization server too (``/.well-known/`` and
``/oauth/``): DCR, client ID metadata documents, a consent page, PKCE S256 codes, ``pha_`` /
``phr_`` tokens that its API checks as PostHog does. ``set_oauth(auto_consent=True, ...)`` (or
``POST /_emulator/oauth``) makes it consent by itself; ``oauth_state()`` counts what it issued.
"""

from max_tools.emulator._agent import DEFAULT_RULE, Rule, RulesError, load_rules
from max_tools.emulator._app import EmulatorApp
from max_tools.emulator._control import ConversationState, EmulatorStats
from max_tools.emulator._faults import Faults
from max_tools.emulator._server import DEFAULT_KEY, RunningEmulator, serve, serve_in_thread

__all__ = [
    "DEFAULT_KEY",
    "DEFAULT_RULE",
    "ConversationState",
    "EmulatorApp",
    "EmulatorStats",
    "Faults",
    "Rule",
    "RulesError",
    "RunningEmulator",
    "load_rules",
    "serve",
    "serve_in_thread",
]
