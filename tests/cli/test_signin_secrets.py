"""A sign-in's tokens never show in a repr, even in clear form for the keyring or the file."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import SecretStr

from max_tools import SignIn

ACCESS = "pha_access_token_never_shown"
REFRESH = "phr_refresh_token_never_shown"


def test_the_tokens_of_a_sign_in_in_clear_do_not_show_in_their_repr() -> None:
    sign_in = SignIn(
        host="https://us.posthog.com",
        issuer="https://us.posthog.com",
        client_id="client-1",
        token_endpoint="https://us.posthog.com/oauth/token/",
        expires_at=datetime.now(UTC),
        posthog_base_url="https://us.posthog.com",
        signed_in_at=datetime.now(UTC),
        access_token=SecretStr(ACCESS),
        refresh_token=SecretStr(REFRESH),
    )

    tokens = sign_in.tokens()

    assert tokens.access_token == ACCESS  # in clear for the keyring or the file
    assert ACCESS not in repr(tokens) and REFRESH not in repr(tokens)
    assert ACCESS not in str(tokens) and REFRESH not in str(tokens)
