"""A request signed in with PostHog: its token checked, its project chosen, or a refusal."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import httpx

from max_tools.hosting._answer import Refused
from max_tools.hosting._introspect import IntrospectionError, TokenChecker, TokenFacts
from max_tools.hosting._oauth import OAuthSettings

__all__ = ["SignIns"]


class SignIns:
    """Checks sign-in tokens for one deployment and picks each signed-in request's project.

    Args:
        settings: the deployment's OAuth settings.
        http_client: the shared pool introspection goes through.
        project_id: the deployment's project (``@current`` or a number).
        allow_project_header: whether a request may choose its project.
    """

    def __init__(
        self,
        settings: OAuthSettings,
        http_client: httpx.AsyncClient,
        *,
        project_id: str,
        allow_project_header: bool,
    ) -> None:
        self._settings = settings
        self._checker = TokenChecker(settings, http_client)
        self._project_id = project_id
        self._allow_project_header = allow_project_header

    async def check(self, token: str) -> TokenFacts:
        """The facts of an active token this deployment accepts.

        Raises:
            Refused: 401 when PostHog says it is not active or it is another client's; 503
                when PostHog cannot be asked.
        """
        try:
            facts = await self._checker.check(token)
        except IntrospectionError as exc:
            raise Refused(503, str(exc)) from None
        if facts is None:
            raise Refused(
                401,
                "PostHog says this sign-in token is not active (expired, revoked or unknown); "
                "sign in again.",
                error="invalid_token",
            )
        allowed = self._settings.client_ids
        if allowed and facts.client_id not in allowed:
            # RFC 6750: invalid_token covers a token "invalid for other reasons"; a 401 (not
            # 403) makes the host sign in again, through the client this server accepts.
            raise Refused(
                401,
                "This server accepts sign-ins made for it only, and this token was issued to "
                "another application; sign in again from this server.",
                error="invalid_token",
            )
        return facts

    def forgetter(self, facts: TokenFacts) -> Callable[[], None]:
        """What drops the cached check of this token (PostHog refused it on a call)."""
        checker, digest = self._checker, facts.digest
        return lambda: checker.forget(digest)

    def project(self, facts: TokenFacts, asked: str) -> str:
        """The project a signed-in request uses (`asked`: its x-posthog-project-id, or "").

        A token for one project uses it; for several, the header where the deployment allows
        it, else the deployment's project, else the first one granted; for every project, the
        header or the deployment's. A project the sign-in does not cover is refused here, with
        a sentence, rather than by PostHog's 403 mid-call.

        Raises:
            Refused: 400 for a header the deployment does not take; 403 for a project the
                sign-in does not cover.
        """
        teams = facts.scoped_teams
        only = str(teams[0]) if len(teams) == 1 else None
        if asked:
            if not self._allow_project_header and asked not in (self._project_id, only):
                raise Refused(
                    400,
                    "This deployment does not take x-posthog-project-id; leave it out "
                    f"(it uses {_projects(teams) or 'the deployment project'}).",
                )
            project = asked
        elif only is not None:
            project = only
        elif self._project_id != "@current" or not teams:
            project = self._project_id
        else:
            project = str(teams[0])
        if teams and project not in {str(team) for team in teams}:
            raise Refused(
                403,
                f"The user's PostHog sign-in covers {_projects(teams)} only, not project "
                f"{project}; sign in again and choose project {project}, or use one of those.",
            )
        return project


def _projects(teams: Sequence[int]) -> str:
    if not teams:
        return ""
    return ("project " if len(teams) == 1 else "projects ") + ", ".join(map(str, teams))
