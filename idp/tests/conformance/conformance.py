#!/usr/bin/env python3
"""Conformance checks of the l42 dev identity provider, from an independent client.

Usage: conformance.py BASE_URL

Needs Python 3.11+ and PyJWT[crypto]; everything else is the standard library (urllib).
Expects the provider's embedded example directory (idp/users.example.json): user
`admin`/`admin-password`, public client `l42-dev-public` (PKCE required), confidential
client `l42-dev-confidential` with secret `l42-dev-secret`, callback
http://localhost:3000/auth/callback, machine client `l42-dev-machine` with secret
`l42-dev-machine-secret` and scopes `l42-demo/sync`, `l42-demo/read`. Prints one line per check and exits 0 only if every
check passes.
"""

from __future__ import annotations

import base64
import hashlib
import html.parser
import json
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

import jwt

PUBLIC = "l42-dev-public"
CONFIDENTIAL = "l42-dev-confidential"
SECRET = "l42-dev-secret"
CALLBACK = "http://localhost:3000/auth/callback"
OTHER_CALLBACK = "http://127.0.0.1:3001/auth/callback"
USER, PASSWORD = "admin", "admin-password"
MACHINE, MACHINE_SECRET = "l42-dev-machine", "l42-dev-machine-secret"
TIMEOUT = 30


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Shows redirects as responses instead of following them."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None


OPENER = urllib.request.build_opener(NoRedirect())


class Response:
    def __init__(self, status: int, headers, body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


def request(method: str, url: str, data: dict | None = None, headers: dict | None = None,
            raw: bytes | None = None) -> Response:
    body = raw
    hdrs = dict(headers or {})
    if data is not None:
        body = urllib.parse.urlencode(data).encode()
        hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
    req = urllib.request.Request(url, data=body, headers=hdrs, method=method)
    try:
        with OPENER.open(req, timeout=TIMEOUT) as resp:
            return Response(resp.status, resp.headers, resp.read())
    except urllib.error.HTTPError as e:  # 3xx (not followed), 4xx, 5xx
        return Response(e.code, e.headers, e.read())


class FormParser(html.parser.HTMLParser):
    """Collects the sign-in form's action and inputs."""

    def __init__(self):
        super().__init__()
        self.action = None
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.action = a.get("action")
        elif tag == "input" and a.get("type") == "hidden" and a.get("name"):
            self.fields[a["name"]] = a.get("value") or ""


def pkce() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode()
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def basic(client_id: str, secret: str) -> dict:
    token = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


class Conformance:
    def __init__(self, base: str):
        self.base = base.rstrip("/")
        self.failures = 0
        self.passed = 0

    def check(self, name: str, ok: bool, detail: str = "") -> None:
        if ok:
            self.passed += 1
            print(f"PASS {name}")
        else:
            self.failures += 1
            print(f"FAIL {name}: {detail}")

    def refused(self, name: str, resp: Response, status: int, error: str) -> None:
        try:
            got = resp.json().get("error")
        except (ValueError, UnicodeDecodeError):
            got = None
        self.check(name, resp.status == status and got == error,
                   f"expected {status} {error}, got {resp.status} {resp.text()[:200]}")

    # -- the flow -------------------------------------------------------------------

    def sign_in(self, client_id: str, redirect_uri: str, challenge: str | None,
                state: str = "conformance-state") -> str:
        """GET the form, POST the credentials; returns the Location (not followed)."""
        params = {"response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
                  "state": state, "scope": "openid email profile"}
        if challenge:
            params |= {"code_challenge": challenge, "code_challenge_method": "S256"}
        page = request("GET", f"{self.base}/oauth2/authorize?{urllib.parse.urlencode(params)}")
        if page.status != 200:
            raise AssertionError(f"authorize answered {page.status}: {page.text()[:200]}")
        form = FormParser()
        form.feed(page.text())
        if not form.action:
            raise AssertionError("no sign-in form")
        fields = dict(form.fields, username=USER, password=PASSWORD)
        resp = request("POST", urllib.parse.urljoin(self.base + "/", form.action), data=fields)
        if resp.status != 302:
            raise AssertionError(f"sign-in answered {resp.status}")
        return resp.headers["Location"]

    def code(self, client_id: str, redirect_uri: str = CALLBACK) -> tuple[str, str]:
        verifier, challenge = pkce()
        location = self.sign_in(client_id, redirect_uri, challenge)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query)
        return query["code"][0], verifier

    def exchange(self, code: str, verifier: str, client_id: str = PUBLIC, secret: str | None = None,
                 redirect_uri: str = CALLBACK) -> Response:
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
                "code_verifier": verifier}
        headers = {}
        if secret is None:
            data["client_id"] = client_id
        else:
            headers = basic(client_id, secret)
        return request("POST", f"{self.base}/oauth2/token", data=data, headers=headers)

    # -- checks ---------------------------------------------------------------------

    def run(self) -> int:
        conf = request("GET", f"{self.base}/.well-known/openid-configuration").json()
        issuer = conf["issuer"]
        jwks = request("GET", conf["jwks_uri"]).json()
        keyset = jwt.PyJWKSet.from_dict(jwks)
        self.check("JWKS has RS256 keys", bool(keyset.keys) and all(k.algorithm_name == "RS256" for k in keyset.keys))

        def key_for(token: str):
            kid = jwt.get_unverified_header(token)["kid"]
            return next(k.key for k in keyset.keys if k.key_id == kid)

        for client_id, secret in [(PUBLIC, None), (CONFIDENTIAL, SECRET)]:
            verifier, challenge = pkce()
            location = self.sign_in(client_id, CALLBACK, challenge, state="s-123")
            split = urllib.parse.urlsplit(location)
            query = urllib.parse.parse_qs(split.query)
            self.check(f"{client_id}: redirected to the callback with code and state",
                       location.startswith(CALLBACK + "?") and "code" in query and query.get("state") == ["s-123"],
                       location)
            resp = self.exchange(query["code"][0], verifier, client_id, secret)
            self.check(f"{client_id}: code exchanged", resp.status == 200, resp.text()[:200])
            if resp.status != 200:
                continue
            tokens = resp.json()
            self.check(f"{client_id}: Bearer response with refresh token",
                       tokens.get("token_type") == "Bearer" and tokens.get("refresh_token")
                       and isinstance(tokens.get("expires_in"), int), str(tokens)[:200])
            try:
                id_claims = jwt.decode(tokens["id_token"], key_for(tokens["id_token"]), algorithms=["RS256"],
                                       issuer=issuer, audience=client_id)
                self.check(f"{client_id}: id token verifies (RS256, issuer, audience)",
                           id_claims["token_use"] == "id" and id_claims["cognito:username"] == USER
                           and id_claims["cognito:groups"] == ["admin"], str(id_claims))
            except jwt.PyJWTError as e:
                self.check(f"{client_id}: id token verifies", False, repr(e))
                id_claims = {}
            try:
                access_claims = jwt.decode(tokens["access_token"], key_for(tokens["access_token"]),
                                           algorithms=["RS256"], issuer=issuer,
                                           options={"verify_aud": False, "require": ["exp", "iat", "sub"]})
                self.check(f"{client_id}: access token verifies (RS256, issuer, client_id)",
                           access_claims["token_use"] == "access" and access_claims["client_id"] == client_id
                           and "aud" not in access_claims and access_claims["username"] == USER,
                           str(access_claims))
                self.check(f"{client_id}: one sign-in, one origin_jti",
                           access_claims.get("origin_jti") == id_claims.get("origin_jti") is not None)
            except jwt.PyJWTError as e:
                self.check(f"{client_id}: access token verifies", False, repr(e))

        # The client-credentials grant: an access token for the client itself.
        resp = request("POST", f"{self.base}/oauth2/token", data={"grant_type": "client_credentials"},
                       headers=basic(MACHINE, MACHINE_SECRET))
        self.check("client_credentials: an access token only", resp.status == 200
                   and set(resp.json()) == {"access_token", "token_type", "expires_in"}, resp.text()[:200])
        if resp.status == 200:
            token = resp.json()["access_token"]
            try:
                claims = jwt.decode(token, key_for(token), algorithms=["RS256"], issuer=issuer,
                                    options={"verify_aud": False, "require": ["exp", "iat", "sub"]})
                self.check("client_credentials: sub and client_id are the client, no user claims",
                           claims["sub"] == MACHINE and claims["client_id"] == MACHINE
                           and claims["token_use"] == "access" and claims["scope"] == "l42-demo/sync l42-demo/read"
                           and not {"username", "cognito:groups", "aud"} & set(claims), str(claims))
            except jwt.PyJWTError as e:
                self.check("client_credentials: access token verifies", False, repr(e))
        self.refused("client_credentials with a scope the client lacks",
                     request("POST", f"{self.base}/oauth2/token",
                             data={"grant_type": "client_credentials", "scope": "openid"},
                             headers=basic(MACHINE, MACHINE_SECRET)), 400, "invalid_scope")
        self.refused("client_credentials for a user client",
                     request("POST", f"{self.base}/oauth2/token", data={"grant_type": "client_credentials"},
                             headers=basic(CONFIDENTIAL, SECRET)), 400, "unauthorized_client")

        # Refusals, each with Cognito's error and status.
        code, verifier = self.code(PUBLIC)
        self.refused("wrong code_verifier", self.exchange(code, pkce()[0]), 400, "invalid_grant")

        code, verifier = self.code(PUBLIC)
        first = self.exchange(code, verifier)
        self.check("first use of a code", first.status == 200, first.text()[:200])
        self.refused("reused code", self.exchange(code, verifier), 400, "invalid_grant")

        _, challenge = pkce()
        params = {"response_type": "code", "client_id": PUBLIC, "redirect_uri": "https://evil.example/cb",
                  "code_challenge": challenge, "code_challenge_method": "S256"}
        page = request("GET", f"{self.base}/oauth2/authorize?{urllib.parse.urlencode(params)}")
        self.check("foreign redirect_uri at authorize: error page, no redirect",
                   page.status == 400 and "Location" not in page.headers, f"{page.status}")
        code, verifier = self.code(PUBLIC)
        self.refused("foreign redirect_uri at token", self.exchange(code, verifier, redirect_uri=OTHER_CALLBACK),
                     400, "unauthorized_client")

        code, verifier = self.code(CONFIDENTIAL)
        self.refused("wrong client secret (Basic)", self.exchange(code, verifier, CONFIDENTIAL, "wrong-secret"),
                     400, "invalid_client")

        params = {"response_type": "code", "client_id": PUBLIC, "redirect_uri": CALLBACK,
                  "code_challenge": challenge, "code_challenge_method": "plain"}
        resp = request("GET", f"{self.base}/oauth2/authorize?{urllib.parse.urlencode(params)}")
        location = resp.headers.get("Location", "")
        self.check("plain PKCE refused (redirect with invalid_request)",
                   resp.status == 302 and "error=invalid_request" in location, f"{resp.status} {location}")

        code, verifier = self.code(PUBLIC)
        advanced = request("POST", f"{self.base}/_dev/clock/advance", raw=b'{"seconds": 301}',
                           headers={"Content-Type": "application/json"})
        self.check("clock advanced past the code lifetime", advanced.status == 200, advanced.text())
        try:
            self.refused("expired code", self.exchange(code, verifier), 400, "invalid_grant")
        finally:
            request("POST", f"{self.base}/_dev/clock/reset", raw=b"", headers={"X-L42-Dev": "1"})

        print(f"{self.passed} passed, {self.failures} failed")
        if self.failures:
            return 1
        print("all checks passed")
        return 0


def main() -> int:
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return Conformance(sys.argv[1]).run()
    except (AssertionError, OSError, KeyError, ValueError) as e:
        print(f"FAIL could not run the checks: {e!r}")
        return 1


if __name__ == "__main__":
    sys.exit(main())
