"""Secrets at rest: webhook secrets are Fernet-encrypted; API keys are hashed."""

from __future__ import annotations

import hashlib
import secrets as _secrets

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    """Encrypts and decrypts webhook secrets under the deployment's key."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key.encode())
        self._plain: dict[str, str] = {}

    def __repr__(self) -> str:
        return "SecretBox(key=***)"

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, token: str) -> str:
        plain = self._plain.get(token)
        if plain is None:
            try:
                plain = self._fernet.decrypt(token.encode()).decode()
            except InvalidToken as exc:
                raise RuntimeError(
                    "a webhook secret does not decrypt: wrong encryption key"
                ) from exc
            if len(self._plain) > 10_000:
                self._plain.clear()
            self._plain[token] = plain
        return plain


def new_api_key() -> str:
    return "hk_" + _secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()
