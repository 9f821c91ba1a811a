"""The emulator plays PostHog's authorization server (reference posthog-oauth.md), over HTTP."""

from __future__ import annotations

import re

import httpx
import pytest

from max_tools.emulator import RunningEmulator
from tests.emulator.oauth import (
    REDIRECT,
    SCOPES,
    authorize,
    authorize_params,
    introspect,
    query,
    refresh,
    register,
    sign_in,
)

pytestmark = pytest.mark.anyio

TOKEN = re.compile(r"ph[ar]_[2-9A-HJ-NP-Za-km-z]{44}")


@pytest.fixture
def auto_consent(emulator: RunningEmulator) -> None:
    emulator.set_oauth(auto_consent=True)


# Metadata


async def test_metadata_names_the_emulator_as_issuer_with_its_region_and_capabilities(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    for path in (
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-authorization-server/",
    ):
        response = await http.get(path)
        assert response.status_code == 200
        assert response.headers["access-control-allow-origin"] == "*"
    document = response.json()
    base = emulator.url
    assert document["issuer"] == base
    assert document["authorization_endpoint"] == f"{base}/oauth/authorize/"
    assert document["token_endpoint"] == f"{base}/oauth/token/"
    assert document["revocation_endpoint"] == f"{base}/oauth/revoke/"
    assert document["introspection_endpoint"] == f"{base}/oauth/introspect/"
    assert document["registration_endpoint"] == f"{base}/oauth/register/"
    assert document["userinfo_endpoint"] == f"{base}/oauth/userinfo/"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["client_id_metadata_document_supported"] is True
    assert document["token_endpoint_auth_methods_supported"] == [
        "none",
        "client_secret_post",
        "private_key_jwt",
    ]
    assert {"authorization_code", "refresh_token"} <= set(document["grant_types_supported"])
    supported = set(document["scopes_supported"])
    assert {"openid", "profile", "email", *SCOPES.split(), "insight:read"} <= supported
    assert not {"llm_gateway:read", "internal_run:read", "wizard_session:read"} & supported
    assert document["posthog_region"] == "us"
    assert document["posthog_base_url"] == base
    assert (await http.get("/.well-known/jwks.json")).json() == {"keys": []}


@pytest.mark.parametrize("emulator_options", [{"region": None}])
async def test_a_self_hosted_emulator_names_no_region(http: httpx.AsyncClient) -> None:
    document = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert "posthog_region" not in document
    assert "posthog_base_url" not in document


# Dynamic client registration


async def test_registration_answers_201_with_the_client(http: httpx.AsyncClient) -> None:
    client = await register(http, scope="conversation:read llm_gateway:read bogus:read")
    assert len(client["client_id"]) == 40
    assert client["redirect_uris"] == [REDIRECT]
    assert client["token_endpoint_auth_method"] == "none"
    assert client["client_name"] == "My CLI"
    assert client["scope"] == "conversation:read"  # privileged and unknown scopes dropped
    assert "client_secret" not in client
    confidential = await register(http, token_endpoint_auth_method="client_secret_post")
    assert confidential["client_secret"]
    assert confidential["client_secret_expires_at"] == 0


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"redirect_uris": []}, "invalid_client_metadata"),
        ({"redirect_uris": ["http://example.com/cb"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://example.com/cb#frag"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["javascript:alert(1)"]}, "invalid_redirect_uri"),
        ({"redirect_uris": ["https://user@example.com/cb"]}, "invalid_redirect_uri"),
        ({"client_name": "PostHog CLI"}, "invalid_client_metadata"),
        ({"client_name": "An official client"}, "invalid_client_metadata"),
        ({"client_name": "x" * 256}, "invalid_client_metadata"),
        ({"grant_types": ["client_credentials"]}, "invalid_client_metadata"),
        ({"token_endpoint_auth_method": "client_secret_basic"}, "invalid_client_metadata"),
        ({"scope": "llm_gateway:read nonsense"}, "invalid_client_metadata"),
    ],
)
async def test_registration_refuses_what_posthog_refuses(
    http: httpx.AsyncClient, fields: dict[str, object], error: str
) -> None:
    body = {"redirect_uris": [REDIRECT], "client_name": "My CLI", **fields}
    response = await http.post("/oauth/register/", json=body)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]


async def test_registration_accepts_custom_schemes_and_https(http: httpx.AsyncClient) -> None:
    uris = ["com.example.app:/cb", "https://app.example.com/cb", "http://[::1]/cb"]
    assert (await register(http, redirect_uris=uris))["redirect_uris"] == uris


# Authorize


async def test_authorize_errors_before_the_redirect_is_trusted_are_json(
    http: httpx.AsyncClient,
) -> None:
    client = await register(http)
    cases = [
        ({"client_id": ""}, "Missing client_id parameter."),
        ({"client_id": "nope"}, "Invalid client_id parameter value."),
        ({"redirect_uri": "http://127.0.0.1:1/other"}, "Mismatching redirect URI."),
        ({"redirect_uri": "https://evil.example/callback"}, "Mismatching redirect URI."),
    ]
    for change, description in cases:
        params = authorize_params(client["client_id"], **change)
        response = await http.get("/oauth/authorize/", params=params)
        assert response.status_code == 400, change
        assert response.json() == {"error": "invalid_request", "error_description": description}


async def test_authorize_errors_after_the_redirect_go_to_it_with_the_state(
    http: httpx.AsyncClient,
) -> None:
    client = await register(http)
    cases = [
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"code_challenge": ""}, "invalid_request"),
        ({"code_challenge_method": "S512"}, "invalid_request"),
    ]
    for change, error in cases:
        params = authorize_params(client["client_id"], **change)
        response = await http.get("/oauth/authorize/", params=params)
        assert response.status_code == 302, change
        location = response.headers["location"]
        assert location.startswith("http://127.0.0.1:53682/callback?")
        assert query(location)["error"] == error
        assert query(location)["state"] == "st4te"
    params = authorize_params(client["client_id"], code_challenge="")
    location = (await http.get("/oauth/authorize/", params=params)).headers["location"]
    assert query(location)["error_description"] == "Code challenge required."


@pytest.mark.usefixtures("auto_consent")
async def test_a_missing_challenge_method_fails_when_the_grant_is_saved(
    http: httpx.AsyncClient,
) -> None:
    client = await register(http)
    params = authorize_params(client["client_id"])
    del params["code_challenge_method"]
    response = await http.get("/oauth/authorize/", params=params)
    assert response.status_code == 500


@pytest.mark.usefixtures("auto_consent")
async def test_a_portless_loopback_redirect_matches_any_port_and_nothing_else(
    http: httpx.AsyncClient,
) -> None:
    client = await register(http, redirect_uris=[REDIRECT, "http://localhost/cb"])
    for uri, status in [
        ("http://127.0.0.1:1234/callback", 302),
        ("http://127.0.0.1/callback", 302),
        ("http://localhost:999/cb", 302),
        ("http://127.0.0.1:1234/elsewhere", 400),
        ("https://127.0.0.1:1234/callback", 400),
        ("http://127.0.0.2:1234/callback", 400),
    ]:
        params = authorize_params(client["client_id"], redirect_uri=uri)
        response = await http.get("/oauth/authorize/", params=params)
        assert response.status_code == status, uri
        if status == 302:
            assert response.headers["location"].startswith(uri + "?code=")


# Token


@pytest.mark.usefixtures("auto_consent")
async def test_the_code_flow_gives_posthog_tokens_for_seven_days(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    client = await register(http)
    body = await sign_in(http, client["client_id"])
    assert TOKEN.fullmatch(body["access_token"])
    assert body["access_token"].startswith("pha_")
    assert TOKEN.fullmatch(body["refresh_token"])
    assert body["refresh_token"].startswith("phr_")
    assert body["expires_in"] == 604800
    assert body["token_type"] == "Bearer"
    assert body["scope"] == SCOPES
    assert body["scoped_teams"] == [1]
    assert body["scoped_organizations"] == []
    assert body["posthog_region"] == "us"
    assert body["posthog_base_url"] == emulator.url


@pytest.mark.usefixtures("auto_consent")
async def test_scopes_are_clamped_never_refused(http: httpx.AsyncClient) -> None:
    client = await register(http, scope="conversation:read")
    narrowed = await sign_in(http, client["client_id"], scope="conversation:write query:read")
    assert narrowed["scope"] == "openid profile email introspection conversation:read"
    other = await register(http)
    everything = await sign_in(http, other["client_id"], scope="")
    assert {"openid", "introspection", "insight:write"} <= set(everything["scope"].split())


@pytest.mark.usefixtures("auto_consent")
async def test_the_code_needs_its_verifier_and_works_once(http: httpx.AsyncClient) -> None:
    client = await register(http)
    code = await authorize(http, client["client_id"])
    exchange = code.token_request(with_verifier=False)
    missing = await http.post("/oauth/token/", data=exchange)
    assert missing.status_code == 400
    assert missing.json() == {
        "error": "invalid_request",
        "error_description": "Code verifier required.",
    }
    wrong = await http.post("/oauth/token/", data={**exchange, "code_verifier": "x" * 64})
    assert (wrong.status_code, wrong.json()) == (400, {"error": "invalid_grant"})
    first = await http.post("/oauth/token/", json={**exchange, "code_verifier": code.verifier})
    assert first.status_code == 200
    again = await http.post("/oauth/token/", data={**exchange, "code_verifier": code.verifier})
    assert (again.status_code, again.json()) == (400, {"error": "invalid_grant"})


async def test_token_request_errors_have_oauthlibs_shapes(http: httpx.AsyncClient) -> None:
    unknown = await http.post(
        "/oauth/token/",
        data={"grant_type": "authorization_code", "code": "c", "client_id": "nope"},
    )
    assert unknown.status_code == 401
    assert unknown.json() == {"error": "invalid_client"}
    assert unknown.headers["www-authenticate"] == 'Bearer error="invalid_client"'
    nested = await http.post("/oauth/token/", json={"grant_type": "refresh_token", "x": [1]})
    assert nested.status_code == 400
    assert nested.json()["error_description"] == "Parameter 'x' must be a string"


@pytest.mark.usefixtures("auto_consent")
async def test_refresh_gives_the_same_refresh_token_back_and_keeps_older_tokens(
    http: httpx.AsyncClient,
) -> None:
    client = await register(http)
    first = await sign_in(http, client["client_id"])
    response = await refresh(http, client["client_id"], first["refresh_token"])
    assert response.status_code == 200
    second = response.json()
    assert second["refresh_token"] == first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    for token in (first["access_token"], second["access_token"]):
        assert (await introspect(http, token))["active"] is True


@pytest.mark.usefixtures("auto_consent")
async def test_self_introspection_describes_the_token_and_nothing_else_does(
    http: httpx.AsyncClient,
) -> None:
    client = await register(http)
    body = await sign_in(http, client["client_id"])
    token = body["access_token"]
    active = await introspect(http, token)
    assert active == {
        "active": True,
        "token_type": "access_token",
        "scope": SCOPES,
        "is_impersonated": False,
        "scoped_teams": [1],
        "scoped_organizations": [],
        "exp": active["exp"],
        "client_id": client["client_id"],
        "client_name": "My CLI",
    }
    anonymous = await http.post("/oauth/introspect/", data={"token": token})
    assert anonymous.json() == {"active": False}
    assert (await introspect(http, "pha_" + "2" * 44)) == {"active": False}


@pytest.mark.usefixtures("auto_consent")
async def test_revoking_a_refresh_token_ends_the_whole_sign_in(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    client = await register(http)
    first = await sign_in(http, client["client_id"])
    second = await sign_in(http, client["client_id"])
    other_client = await register(http)
    revoked = await http.post(
        "/oauth/revoke/",
        data={"token": first["refresh_token"], "client_id": other_client["client_id"]},
    )
    assert revoked.status_code == 200  # another app's token: ignored
    assert (await introspect(http, first["access_token"]))["active"] is True
    revoked = await http.post(
        "/oauth/revoke/", data={"token": first["refresh_token"], "client_id": client["client_id"]}
    )
    assert revoked.status_code == 200
    for token in (first["access_token"], second["access_token"]):
        assert (await introspect(http, token)) == {"active": False}
    refreshed = await refresh(http, client["client_id"], second["refresh_token"])
    assert (refreshed.status_code, refreshed.json()) == (400, {"error": "invalid_grant"})
    assert emulator.oauth_state()["access_tokens"] == 0


@pytest.mark.usefixtures("auto_consent")
async def test_userinfo_gives_the_oidc_claims_of_the_signed_in_user(
    http: httpx.AsyncClient,
) -> None:
    client = await register(http)
    token = (await sign_in(http, client["client_id"], scope="openid email conversation:read"))[
        "access_token"
    ]
    response = await http.get("/oauth/userinfo/", headers={"Authorization": f"Bearer {token}"})
    claims = response.json()
    assert claims["email"].endswith("@emulator.invalid")
    assert claims["email_verified"] is True
    assert "given_name" not in claims  # profile was not granted
    assert claims["sub"]


@pytest.mark.usefixtures("auto_consent")
async def test_a_code_expires_after_five_minutes(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    client = await register(http)
    code = await authorize(http, client["client_id"])
    emulator.set_oauth(advance_clock_s=301)
    response = await http.post("/oauth/token/", data=code.token_request())
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


@pytest.mark.usefixtures("auto_consent")
async def test_a_confidential_client_must_send_its_secret(http: httpx.AsyncClient) -> None:
    client = await register(http, token_endpoint_auth_method="client_secret_post")
    exchange = (await authorize(http, client["client_id"])).token_request()
    wrong = await http.post("/oauth/token/", data={**exchange, "client_secret": "nope"})
    assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid_client"})
    right = await http.post(
        "/oauth/token/", data=exchange, auth=(client["client_id"], client["client_secret"])
    )
    assert right.status_code == 200
    token = right.json()["access_token"]
    seen = await http.post(
        "/oauth/introspect/",
        data={"token": token, "client_id": client["client_id"]},
        auth=(client["client_id"], client["client_secret"]),
    )
    assert seen.json()["active"] is True


async def test_an_app_registered_by_hand_rotates_its_refresh_token_and_lives_an_hour(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    emulator.set_oauth(auto_consent=True)
    made = await http.post(
        "/_emulator/oauth/apps", json={"redirect_uris": [REDIRECT], "client_name": "Partner"}
    )
    assert made.status_code == 201
    client_id = made.json()["client_id"]
    first = await sign_in(http, client_id)
    assert first["expires_in"] == 3600
    second = await refresh(http, client_id, first["refresh_token"])
    assert second.json()["refresh_token"] != first["refresh_token"]
    reused = await refresh(http, client_id, first["refresh_token"])
    assert (reused.status_code, reused.json()) == (400, {"error": "invalid_grant"})


async def test_the_control_api_reads_and_steers_sign_ins(
    http: httpx.AsyncClient, emulator: RunningEmulator
) -> None:
    refused = await http.post("/_emulator/oauth", json={"auto_consent": "yes"})
    assert refused.status_code == 400
    assert refused.json()["detail"] == "'auto_consent' must be true or false."
    unknown = await http.post("/_emulator/oauth", json={"project": 7})
    assert unknown.status_code == 400
    state = (
        await http.post("/_emulator/oauth", json={"auto_consent": True, "access_token_ttl_s": 5})
    ).json()
    assert state["auto_consent"] is True
    assert state["access_token_ttl_s"] == 5
    client = await register(http)
    assert (await sign_in(http, client["client_id"]))["expires_in"] == 5
    state = (await http.get("/_emulator/oauth")).json()
    assert (state["apps"], state["access_tokens"], state["refresh_tokens"]) == (1, 1, 1)
    reset = (await http.delete("/_emulator/oauth")).json()
    assert (reset["auto_consent"], reset["access_token_ttl_s"]) == (False, None)
    with pytest.raises(ValueError, match="Unknown OAuth switches"):
        emulator.set_oauth(nonsense=True)
