"""The tenant's RSA signing keys: generated once, persisted, rotatable."""

from __future__ import annotations

import json
import secrets
import threading
from pathlib import Path
from typing import Any

from joserfc import jwk

from .defaults import write_private_file

KEYS_FILE = "signing_keys.json"


def new_rsa_key(kid: str | None = None) -> jwk.RSAKey:
    kid = kid or secrets.token_urlsafe(12)
    return jwk.RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"}, private=True)


class KeyStore:
    """RSA 2048 keys in a private JWK set on disk; the last one is the current signing key."""

    def __init__(self, state_dir: Path) -> None:
        self.path = state_dir / KEYS_FILE
        self._lock = threading.Lock()
        self.keys: list[jwk.RSAKey] = []
        if self.path.exists():
            data = json.loads(self.path.read_text(encoding="utf-8"))
            self.keys = [jwk.RSAKey.import_key(item) for item in data["keys"]]
        if not self.keys:
            self.keys = [new_rsa_key()]
            self._save()
        self._foreign: jwk.RSAKey | None = None

    @property
    def current(self) -> jwk.RSAKey:
        return self.keys[-1]

    def _save(self) -> None:
        data = {"keys": [key.as_dict(private=True) for key in self.keys]}
        write_private_file(self.path, json.dumps(data, indent=2))

    def rotate(self) -> str:
        kid = secrets.token_urlsafe(12)
        with self._lock:
            self.keys.append(new_rsa_key(kid))
            self._save()
        return kid

    def retire_old(self) -> None:
        with self._lock:
            self.keys = [self.current]
            self._save()

    def foreign_key(self) -> jwk.RSAKey:
        """A key that is never published: tokens signed with it must fail verification."""
        if self._foreign is None:
            self._foreign = new_rsa_key("unpublished-" + secrets.token_hex(4))
        return self._foreign

    def jwks(self, mode: str = "normal") -> dict[str, Any]:
        def public(key: jwk.RSAKey, with_kid: bool = True) -> dict[str, Any]:
            data = dict(key.as_dict(private=False))
            if not with_kid:
                data.pop("kid", None)
            return data

        if mode == "no_kid":
            return {"keys": [public(self.current, with_kid=False)]}
        if mode == "multi_no_kid":
            keys = list(self.keys)
            if len(keys) < 2:
                keys.insert(0, self.foreign_key())
            return {"keys": [public(key, with_kid=False) for key in keys]}
        return {"keys": [public(key) for key in self.keys]}
