"""The consent page: a small self-contained HTML form (no scripts, no CDN).

PostHog's consent screen is its SPA, which POSTs JSON; this page posts the same consent as a
plain form, so a test can read it with an HTML parser, or a person can click it in a browser.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from max_tools.emulator._oauth_scopes import ALWAYS_ALLOWED_SCOPES
from max_tools.emulator._store import User

__all__ = ["consent_page", "levels"]

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;background:#f3f4f0;color:#151515;margin:0}
main{max-width:34rem;margin:3rem auto;background:#fff;border:1px solid #d0d1c9;
border-radius:8px;padding:1.5rem 2rem}
h1{font-size:1.25rem;margin:0 0 .25rem}p.sub{color:#555;margin:0 0 1rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
td,th{text-align:left;padding:.3rem .2rem;border-bottom:1px solid #eee}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}select{font:inherit;padding:.2rem}
.buttons{display:flex;gap:.75rem;margin-top:1.25rem}
button{font:inherit;padding:.5rem 1.25rem;border-radius:6px;border:1px solid #999;cursor:pointer}
button.allow{background:#1d4aff;border-color:#1d4aff;color:#fff}
.note{color:#666;font-size:13px;margin-top:1rem}
"""


def levels(scopes: Sequence[str]) -> dict[str, str]:
    """The highest level asked per scope object: ``{"conversation": "write", ...}``."""
    wanted: dict[str, str] = {}
    for scope in scopes:
        obj, _, action = scope.partition(":")
        if action in ("read", "write") and wanted.get(obj) != "write":
            wanted[obj] = action
    return wanted


def _options(values: Sequence[tuple[str, str]], selected: str) -> str:
    return "".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
        f"{escape(text)}</option>"
        for value, text in values
    )


def consent_page(
    *,
    client_name: str,
    params: Mapping[str, str],
    scopes: Sequence[str],
    required: Sequence[str],
    users: Sequence[User],
    projects: Sequence[int],
    selected_project: str,
    allow_all: bool,
) -> str:
    """The page for one authorization request.

    Args:
        client_name: the app's name, shown as the party asking.
        params: the authorization request's parameters, posted back as hidden fields.
        scopes: what the request would be granted (already clamped).
        required: scopes the app requires: their rows cannot be lowered.
        users: the emulated users one may sign in as (the first is preselected).
        projects: the projects one may grant access to.
        selected_project: the preselected choice (a project id or ``all``).
        allow_all: whether "all projects" is offered (not when one project is required).
    """
    hidden = "".join(
        f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'
        for name, value in params.items()
    )
    rows = []
    required_levels = levels(required)
    for obj, level in levels(scopes).items():
        choices = [("write", "Read and write"), ("read", "Read")] if level == "write" else []
        choices = choices or [("read", "Read")]
        floor = required_levels.get(obj)
        if floor is None:
            choices.append(("none", "No access"))
        elif floor == "write":
            choices = [("write", "Read and write")]
        name = f"scope_{obj}"
        rows.append(
            f'<tr><td>{escape(obj)}</td><td><select name="{escape(name)}" '
            f'aria-label="{escape(obj)} access">{_options(choices, level)}</select></td></tr>'
        )
    identity = [scope for scope in scopes if scope in ALWAYS_ALLOWED_SCOPES]
    project_choices = [("all", "All projects")] if allow_all else []
    project_choices += [(str(project), f"Project {project}") for project in projects]
    user_choices = [(str(user.id), f"{user.first_name} <{user.email}>") for user in users]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Authorize {escape(client_name)} - PostHog (emulator)</title>
<style>{_STYLE}</style></head>
<body><main>
<h1>Authorize <span id="client-name">{escape(client_name)}</span></h1>
<p class="sub">wants to access your PostHog account (emulated).</p>
<form method="post" action="/oauth/authorize/">
{hidden}
<label for="user_id">Signed in as</label>
<select id="user_id" name="user_id">{_options(user_choices, user_choices[0][0])}</select>
<label for="project">Project</label>
<select id="project" name="project">{_options(project_choices, selected_project)}</select>
<label>Permissions</label>
<table id="scopes"><tr><th>Object</th><th>Access</th></tr>{"".join(rows)}</table>
<p id="identity">Also: {escape(", ".join(identity) or "nothing else")}</p>
<div class="buttons">
<button class="allow" type="submit" name="allow" value="true">Allow</button>
<button type="submit" name="allow" value="false">Deny</button>
</div>
<p class="note">This is max-tools' offline emulator of PostHog's consent screen.</p>
</form>
</main></body></html>
"""
