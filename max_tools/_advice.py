"""What to do about an error, written once, in each face's words.

Every situation an error can put a caller in has one sentence here. The sentence names
what to do with placeholders (``{wait}``, ``{queue}``, ...) that each face fills with its own
words: the Python client's methods, the agent tools' names, or the command line's commands. The
errors build their messages from this table (`APIStatusError.advice_for`), and so do the agent
layer (`explain_error`) and the command line.
"""

from __future__ import annotations

from typing import Literal

__all__ = ["Face", "advice"]

Face = Literal["python", "tools", "cli"]

_WORDS: dict[str, dict[str, str]] = {
    "python": {
        "wait": "wait()",
        "queue": "queue_message()",
        "remove_queued": "delete_queued_message()",
        "send": "ask()",
        "list": "list_conversations()",
        "new": "ask() without a conversation_id",
        "key": "pass api_key=",
        "login": "run max-tools login in a terminal",
        "project": "POSTHOG_PROJECT_ID (or project_id=)",
    },
    "tools": {
        "wait": "max_wait",
        "queue": "max_queue_message",
        "remove_queued": "max_delete_queued_message",
        "send": "max_chat",
        "list": "max_list_conversations",
        "new": "max_chat without a conversation_id",
        "key": "pass api_key=",
        "login": "ask the person running this server to run max-tools login in a terminal",
        "project": (
            "the project this server acts in (POSTHOG_PROJECT_ID where it runs; on a hosted "
            "server, the x-posthog-project-id header if it takes one)"
        ),
    },
    "cli": {
        "wait": "max-tools wait {cid}",
        "queue": 'max-tools queue add {cid} "..."',
        "remove_queued": "max-tools queue rm {cid} <queue_id>",
        "send": 'max-tools chat "..." --conversation {cid}',
        "list": "max-tools conversations list",
        "new": 'max-tools chat "..." without --conversation',
        "key": "pass --api-key",
        "login": "run max-tools login",
        "project": "POSTHOG_PROJECT_ID (or --project-id)",
    },
}

_ADVICE: dict[str, str] = {
    "no_key": (
        "Sign in with PostHog (run max-tools login), or set POSTHOG_PERSONAL_API_KEY (or {key}) "
        "to a personal API key created under Settings > Personal API keys, with the "
        "conversation scopes. No account yet? max-tools emulator serves PostHog AI offline and "
        "prints the settings to use."
    ),
    "signin_expired": (
        "Your PostHog sign-in has expired or was revoked: {login} again (or use a personal API "
        "key in POSTHOG_PERSONAL_API_KEY)."
    ),
    "bad_request": "Fix the request; repeating it unchanged will fail again.",
    "unauthorized": (
        "Check POSTHOG_PERSONAL_API_KEY: it must be a valid, unexpired personal API key "
        "(phx_...). {region}"
    ),
    "quota": (
        "The organization has used up its PostHog AI credits; raise the limit in Billing "
        "settings or ask an organization admin."
    ),
    "scoped_key": (
        "PostHog refuses this action (append, cancel and the message queue) to personal API "
        "keys that have scopes, even '*', and to a PostHog sign-in (max-tools login, an OAuth "
        "token). Sending messages, reading and deleting conversations work with the "
        "conversation:read / conversation:write scopes; for this action, set "
        "POSTHOG_PERSONAL_API_KEY to a personal API key without scopes."
    ),
    "not_yours": (
        "The conversation belongs to another user: only its owner can continue or cancel it, "
        "or change its queue. Start a conversation of your own with {send}."
    ),
    "missing_scope": (
        "The key lacks the {scope} scope this needs: add it to the personal API key in "
        "PostHog's settings (Personal API keys), or use a key that has it; with a PostHog "
        "sign-in, {login} again and allow {scope}."
    ),
    "forbidden": (
        "The key lacks permission: give it the conversation:read and conversation:write "
        "scopes, and check that {project} is a project you belong to."
    ),
    "not_found": (
        "Not found: check the id (see {list}) and {project}. Conversations you do not "
        "own, deleted ones, and new ones PostHog AI has not titled yet are not found."
    ),
    "queue_full": (
        "The conversation already has 2 queued follow-ups, the most PostHog keeps: wait for the "
        "running reply with {wait}, or remove one with {remove_queued}."
    ),
    "not_running": (
        "No reply is running to pick a queued message up; send it as a new message with {send}."
    ),
    "busy": (
        "The conversation is still answering an earlier message: queue this message with "
        "{queue}, or follow the reply with {wait} and send it then."
    ),
    # Not capitalised: it follows "Could not <do it>:", since PostHog's own words ("opened via
    # the open endpoint") would point at a step a personal API key cannot take (reference 16.4).
    "moved": (
        "the conversation moved to PostHog AI's newer runtime, which this API cannot continue "
        "with a personal API key or a PostHog sign-in: continue it in PostHog's web app, or "
        "start a new conversation with {new}."
    ),
    "conflict": "Read the conversation's current state and try again.",
    "unprocessable": "PostHog could not carry it out; try again in a moment.",
    "rate_limited": "Rate limited: {retry}.",
    "server": "PostHog or a proxy in front of it failed; try again in a moment.",
    "redirect": (
        "PostHog redirected the request; set POSTHOG_HOST to the host it redirects to "
        "(us.posthog.com or eu.posthog.com)."
    ),
    "unexpected": "This status was not expected; check the request.",
}


def advice(situation: str, face: Face = "python", *, cid: str = "<id>", **values: str) -> str:
    """The sentence for `situation`, in `face`'s words.

    Args:
        situation: a key of the table, e.g. ``busy`` or ``not_found``.
        face: whose words name the next step: ``python``, ``tools`` or ``cli``.
        cid: the conversation id, for the command line's commands.
        **values: the situation's own values (``retry`` for ``rate_limited``, ``region`` for
            ``unauthorized``).
    """
    words = {name: text.format(cid=cid) for name, text in _WORDS[face].items()}
    return _ADVICE[situation].format(**words, **values)
