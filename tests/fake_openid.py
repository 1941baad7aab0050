"""A local stand-in for the Bot Framework's OpenID metadata and signing keys (JWKS), and tokens minted the way the
Bot Framework signs them: so a test can send Teams requests with a valid token, an expired one, or one signed by a
key the Bot Framework never published.

It runs in a thread of its own, not on the test's event loop: botbuilder fetches the keys with blocking `requests`
calls from inside the server's event loop, which a server on that same loop could never answer.
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

ISSUER = "https://api.botframework.com"  # what the Bot Framework puts in `iss` for a channel's request
APP_ID = "00000000-0000-0000-0000-0000000000a1"
GOOD_KID = "fake-bf-key-1"


def new_key() -> rsa.RSAPrivateKey:
    """A fresh RSA key (2048 bits, as the Bot Framework's are)."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class FakeOpenId:
    """The published key, a key that is not published, and the server handing out the metadata."""

    key: rsa.RSAPrivateKey = field(default_factory=new_key)
    stranger: rsa.RSAPrivateKey = field(default_factory=new_key)  # never in the JWKS
    url: str = ""  # the metadata URL (…/.well-known/openidconfiguration)
    requests: list[str] = field(default_factory=list)  # paths fetched, to show the fake was really used
    delay: float = 0.0  # seconds before the keys are handed out (a slow or hanging key server)
    _server: ThreadingHTTPServer | None = None

    def jwks(self) -> dict[str, Any]:
        public = json.loads(RSAAlgorithm.to_jwk(self.key.public_key()))
        return {"keys": [{**public, "kid": GOOD_KID, "use": "sig", "endorsements": ["msteams", "emulator"]}]}

    def start(self) -> "FakeOpenId":
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                fake.requests.append(self.path)
                base = f"http://127.0.0.1:{self.server.server_address[1]}"
                if self.path.startswith("/.well-known/"):
                    body = {"issuer": ISSUER, "jwks_uri": f"{base}/keys",
                            "id_token_signing_alg_values_supported": ["RS256"]}
                elif self.path == "/keys":
                    time.sleep(fake.delay)
                    body = fake.jwks()
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/.well-known/openidconfiguration"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def token(self, service_url: str, *, key: rsa.RSAPrivateKey | None = None, kid: str = GOOD_KID,
              issuer: str = ISSUER, audience: str = APP_ID, expires_in: float = 3600, algorithm: str = "RS256",
              **claims: Any) -> str:
        """A channel's token as the Bot Framework mints it; every part can be made wrong."""
        now = int(time.time())
        payload = {"iss": issuer, "aud": audience, "serviceurl": service_url, "nbf": now - 60,
                   "iat": now - 60, "exp": int(now + expires_in), **claims}
        return jwt.encode(payload, key or self.key, algorithm=algorithm, headers={"kid": kid})
