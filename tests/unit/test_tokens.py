"""The id_token verifier on its own: every refusal, key rotation, and the bounded JWKS fetches."""

import asyncio
import base64
import hashlib
import hmac
import json

import httpx2
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from shared.tokens import (
    BACKCHANNEL_LOGOUT_EVENT,
    LOGOUT_REFETCHES,
    REFETCH_COOLDOWN,
    TRIED_KIDS_SIZE,
    IdTokenVerifier,
    RefetchBudget,
    TokenError,
)

ISSUER = "https://tenant.example/"
CLIENT = "my-client"
NOW = 1_800_000_000


class Tenant:
    """A JWKS endpoint in memory, counting how often it is fetched."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "k1"})]
        self.fetches = 0
        self.publish_kids = True

    def jwks(self, request: httpx2.Request) -> httpx2.Response:
        self.fetches += 1
        keys = [key.as_dict(private=False) for key in self.keys]
        if not self.publish_kids:
            for key in keys:
                key.pop("kid")
        return httpx2.Response(200, json={"keys": keys})

    def sign(self, key=None, header=None, **overrides) -> str:
        key = key or self.keys[-1]
        claims = {"iss": ISSUER, "aud": CLIENT, "sub": "auth0|1", "iat": NOW, "exp": NOW + 3600, **overrides}
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(header or {"alg": "RS256", "kid": key.kid}, claims, key)


@pytest.fixture
def tenant() -> Tenant:
    return Tenant()


def make_verifier(tenant: Tenant, clock=lambda: NOW, monotonic=lambda: 0.0) -> IdTokenVerifier:
    http = httpx2.AsyncClient(transport=httpx2.MockTransport(tenant.jwks))
    return IdTokenVerifier(
        ISSUER, CLIENT, "https://tenant.example/.well-known/jwks.json", http, clock=clock, monotonic=monotonic
    )


def verify(verifier: IdTokenVerifier, token: str, **kwargs):
    return asyncio.run(verifier.verify(token, **kwargs))


def test_valid_rs256_token_is_accepted(tenant):
    claims = verify(make_verifier(tenant), tenant.sign(nonce="n1"), nonce="n1")
    assert claims["sub"] == "auth0|1"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"iss": "https://evil.example/"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"aud": None}, "aud"),
        ({"aud": ["another-client", CLIENT]}, "azp"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "azp"),
        ({"sub": None}, "sub"),
        ({"iat": None}, "iat"),
        ({"exp": None}, "exp"),
        ({"exp": NOW - 61}, "expired"),
        ({"iat": NOW + 3600}, "future"),
        ({"nbf": NOW + 3600}, "not yet valid"),
    ],
)
def test_bad_claims_are_refused(tenant, claims, reason):
    with pytest.raises(TokenError, match=reason):
        verify(make_verifier(tenant), tenant.sign(**claims))


def test_several_audiences_with_our_azp_are_accepted(tenant):
    assert verify(make_verifier(tenant), tenant.sign(aud=[CLIENT, "api"], azp=CLIENT))["azp"] == CLIENT


def test_clock_skew_within_leeway_is_tolerated(tenant):
    assert verify(make_verifier(tenant), tenant.sign(iat=NOW + 30, exp=NOW - 30))


def test_wrong_nonce_is_refused(tenant):
    with pytest.raises(TokenError, match="nonce"):
        verify(make_verifier(tenant), tenant.sign(nonce="theirs"), nonce="ours")


def test_missing_nonce_is_refused_when_one_was_sent(tenant):
    with pytest.raises(TokenError, match="nonce"):
        verify(make_verifier(tenant), tenant.sign(), nonce="ours")


def test_tampered_signature_is_refused(tenant):
    head, payload, signature = tenant.sign().split(".")
    forged = f"{head}.{payload}.{signature[:-4]}AAAA"
    with pytest.raises(TokenError, match="signature"):
        verify(make_verifier(tenant), forged)


def test_alg_none_is_refused(tenant):
    _head, payload, _ = tenant.sign().split(".")
    none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    with pytest.raises(TokenError, match="'none'"):
        verify(make_verifier(tenant), f"{none_header}.{payload}.")


def test_hs256_signed_with_the_public_key_is_refused(tenant):
    # joserfc itself refuses to use a public key as an HMAC secret, so build the forgery by hand.
    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    claims = {"iss": ISSUER, "aud": CLIENT, "sub": "x", "iat": NOW, "exp": NOW + 60}
    signing_input = f"{b64(json.dumps({'alg': 'HS256', 'kid': 'k1'}).encode())}.{b64(json.dumps(claims).encode())}"
    secret = tenant.keys[0].as_pem(private=False)
    token = f"{signing_input}.{b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())}"
    with pytest.raises(TokenError, match="HS256"):
        verify(make_verifier(tenant), token)


@pytest.mark.parametrize("garbage", ["", "abc", "a.b.c", "a.b", "\u00e9.\u00e9.\u00e9", "eyJ9.eyJ9.eyJ9"])
def test_garbage_is_refused(tenant, garbage):
    with pytest.raises(TokenError):
        verify(make_verifier(tenant), garbage)


def test_single_key_without_kid_is_accepted(tenant):
    tenant.publish_kids = False
    token = tenant.sign(header={"alg": "RS256"})
    assert verify(make_verifier(tenant), token)["sub"] == "auth0|1"


def test_no_kid_with_several_keys_is_refused(tenant):
    tenant.keys.append(RSAKey.generate_key(2048, parameters={"kid": "k2"}))
    tenant.publish_kids = False
    with pytest.raises(TokenError, match="several"):
        verify(make_verifier(tenant), tenant.sign(header={"alg": "RS256"}))


def test_rotated_in_key_costs_exactly_one_refetch(tenant):
    verifier = make_verifier(tenant)
    verify(verifier, tenant.sign())
    tenant.keys.append(RSAKey.generate_key(2048, parameters={"kid": "k2"}))
    assert verify(verifier, tenant.sign())["sub"] == "auth0|1"
    assert tenant.fetches == 2


def test_flood_of_unknown_kids_is_bounded(tenant):
    verifier = make_verifier(tenant)
    stranger = RSAKey.generate_key(2048)

    async def flood() -> None:
        for i in range(50):
            with pytest.raises(TokenError, match="does not publish"):
                await verifier.verify(tenant.sign(key=stranger, header={"alg": "RS256", "kid": f"random-{i}"}))

    asyncio.run(flood())
    assert tenant.fetches == 2  # the first load, then one re-fetch per cooldown
    assert REFETCH_COOLDOWN >= 30


def test_verified_tokens_are_cached_but_never_past_exp(tenant):
    now = [NOW]
    verifier = make_verifier(tenant, clock=lambda: now[0])
    token = tenant.sign(exp=NOW + 10)
    verify(verifier, token)
    verifier._keys = []  # a cache hit needs no key at all: no RSA work
    assert verify(verifier, token)["sub"] == "auth0|1"
    fetches = tenant.fetches
    now[0] = NOW + 10  # at exp the cache no longer answers: the token is checked again, keys and all
    verify(verifier, token)
    assert tenant.fetches == fetches + 1
    now[0] = NOW + 10 + 61  # and past the leeway it is refused
    with pytest.raises(TokenError, match="expired"):
        verify(verifier, token)


def test_unreachable_jwks_is_a_token_error(tenant):
    def down(request):
        raise httpx2.ConnectError("refused")

    verifier = IdTokenVerifier(
        ISSUER, CLIENT, "https://x/jwks", httpx2.AsyncClient(transport=httpx2.MockTransport(down))
    )
    with pytest.raises(TokenError, match="signing keys"):
        verify(verifier, tenant.sign())


# ---- logout tokens ---------------------------------------------------------------------------


def logout_token(tenant: Tenant, key=None, header=None, **overrides) -> str:
    key = key or tenant.keys[-1]
    claims = {"jti": f"jti-{overrides.get('sid', 's')}-{id(overrides)}", "sid": "s1", **overrides}
    claims = {"events": {BACKCHANNEL_LOGOUT_EVENT: {}}, "exp": None, **claims}
    return tenant.sign(key=key, header=header or {"alg": "RS256", "kid": key.kid, "typ": "logout+jwt"}, **claims)


def verify_logout(verifier: IdTokenVerifier, token: str):
    return asyncio.run(verifier.verify_logout_token(token))


def junk_kid_token(tenant: Tenant, kid: str, logout: bool = True) -> str:
    """Signed by a key nobody publishes, naming a kid nobody publishes: refused before any signature check."""
    header = {"alg": "RS256", "kid": kid}
    return logout_token(tenant, key=STRANGER, header=header) if logout else tenant.sign(key=STRANGER, header=header)


STRANGER = RSAKey.generate_key(2048)


def rotate(tenant: Tenant, kid: str) -> None:
    tenant.keys.append(RSAKey.generate_key(2048, parameters={"kid": kid}))


def test_a_valid_logout_token_is_accepted(tenant):
    assert verify_logout(make_verifier(tenant), logout_token(tenant))["sid"] == "s1"


def test_a_junk_kid_on_a_logout_token_does_not_stop_a_genuine_one_after_a_key_rotation(tenant):
    verifier = make_verifier(tenant)
    verify_logout(verifier, logout_token(tenant))
    with pytest.raises(TokenError, match="does not publish"):
        verify_logout(verifier, junk_kid_token(tenant, "made-up"))
    rotate(tenant, "k2")
    assert verify_logout(verifier, logout_token(tenant, sid="after-rotation"))["sid"] == "after-rotation"
    assert tenant.fetches == 3  # the first load, the junk kid's one re-fetch, the new key's


def test_a_flood_of_random_kids_on_logout_tokens_costs_a_bounded_number_of_fetches(tenant):
    now = [0.0]
    verifier = make_verifier(tenant, monotonic=lambda: now[0])
    verify_logout(verifier, logout_token(tenant))
    token = logout_token(tenant, key=STRANGER, header={"alg": "RS256", "kid": "x"})
    _header, payload, signature = token.split(".")

    async def flood() -> None:
        for i in range(1000):
            head = base64.urlsafe_b64encode(json.dumps({"alg": "RS256", "kid": f"random-{i}"}).encode())
            with pytest.raises(TokenError, match="does not publish"):
                await verifier.verify_logout_token(f"{head.rstrip(b'=').decode()}.{payload}.{signature}")

    asyncio.run(flood())
    assert tenant.fetches == 1 + LOGOUT_REFETCHES
    # The budget refills: once one re-fetch's worth of time has passed, a rotated-in key is fetched.
    rotate(tenant, "k2")
    now[0] += REFETCH_COOLDOWN / LOGOUT_REFETCHES
    assert verify_logout(verifier, logout_token(tenant, sid="later"))["sid"] == "later"
    assert tenant.fetches == 2 + LOGOUT_REFETCHES
    assert len(verifier._tried_kids) <= TRIED_KIDS_SIZE


def test_repeating_one_junk_kid_costs_one_refetch(tenant):
    verifier = make_verifier(tenant)
    for _ in range(20):
        with pytest.raises(TokenError, match="does not publish"):
            verify_logout(verifier, junk_kid_token(tenant, "same"))
    assert tenant.fetches == 2


def test_junk_kids_in_cookies_do_not_spend_the_logout_tokens_budget(tenant):
    verifier = make_verifier(tenant)
    verify(verifier, tenant.sign())
    for i in range(20):
        with pytest.raises(TokenError, match="does not publish"):
            verify(verifier, junk_kid_token(tenant, f"cookie-{i}", logout=False))
    rotate(tenant, "k2")
    assert verify_logout(verifier, logout_token(tenant))["sid"] == "s1"


def test_junk_kids_on_logout_tokens_do_not_spend_the_cookies_budget(tenant):
    verifier = make_verifier(tenant)
    verify(verifier, tenant.sign())
    for i in range(20):
        with pytest.raises(TokenError, match="does not publish"):
            verify_logout(verifier, junk_kid_token(tenant, f"logout-{i}"))
    rotate(tenant, "k2")
    assert verify(verifier, tenant.sign())["sub"] == "auth0|1"


def test_a_login_token_is_never_refused_a_refetch(tenant):
    verifier = make_verifier(tenant)
    for i in range(20):
        with pytest.raises(TokenError):
            verify(verifier, junk_kid_token(tenant, f"cookie-{i}", logout=False))
    rotate(tenant, "k2")
    assert verify(verifier, tenant.sign(), from_tenant=True)["sub"] == "auth0|1"


def test_the_refetch_budget_is_a_bucket_refilled_over_its_window():
    budget = RefetchBudget(3, 60.0)
    assert [budget.spend(0.0) for _ in range(4)] == [True, True, True, False]
    assert not budget.spend(19.0)
    assert budget.spend(20.0)
    assert not budget.spend(20.0)
    assert [budget.spend(1000.0) for _ in range(4)] == [True, True, True, False]  # never more than its size


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": [CLIENT, "other"]}, "has several audiences and its azp is not this application"),
        ({"aud": [CLIENT, "other"], "azp": "other"}, "has several audiences and its azp is not this application"),
        ({"azp": "other"}, "was issued to another application"),
    ],
)
def test_a_logout_tokens_azp_is_checked_as_an_id_tokens(tenant, claims, reason):
    with pytest.raises(TokenError, match=f"^The logout token {reason}"):
        verify_logout(make_verifier(tenant), logout_token(tenant, **claims))


def test_a_logout_token_for_several_audiences_with_our_azp_is_accepted(tenant):
    assert verify_logout(make_verifier(tenant), logout_token(tenant, aud=[CLIENT, "api"], azp=CLIENT))["sid"] == "s1"


def tampered(token: str) -> str:
    head, payload, signature = token.split(".")
    return f"{head}.{payload}.{signature[:-4]}AAAA"


NONE_HEADER = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}


@pytest.mark.parametrize(
    ("forge", "message"),
    [
        (lambda tenant, sign: "not-a-jwt", " is not a well-formed JWT."),
        (lambda tenant, sign: f"{NONE_HEADER}.{sign(tenant).split('.')[1]}.", " is signed with 'none'; only RS256"),
        (lambda tenant, sign: tampered(sign(tenant)), "'s signature is not valid."),
        (lambda tenant, sign: sign(tenant, key=STRANGER, header={"alg": "RS256", "kid": "x"}), " is signed with a key"),
    ],
    ids=["garbage", "alg none", "tampered", "unknown kid"],
)
@pytest.mark.parametrize("kind", ["id_token", "logout token"])
def test_refusals_name_the_kind_of_token(tenant, forge, message, kind):
    verifier = make_verifier(tenant)
    if kind == "id_token":
        check, sign = verifier.verify, Tenant.sign
    else:
        check, sign = verifier.verify_logout_token, logout_token
    with pytest.raises(TokenError) as refused:
        asyncio.run(check(forge(tenant, sign)))
    assert str(refused.value).startswith(f"The {kind}{message}")
