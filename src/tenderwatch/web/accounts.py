"""Accounts for the parts of the web app that write: users with argon2-hashed passwords, and API tokens.

Kept apart from the analytical store, in a small SQLite file beside it (``<store>.accounts.sqlite``), so the
web app can write accounts while a load holds the store, and a rebuild never touches them.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from tenderwatch.exceptions import TenderwatchError

_HASHER = PasswordHasher()
MIN_PASSWORD = 12


class AccountError(TenderwatchError):
    """Raised when an account cannot be created or used (a taken name, a short password)."""

    hint = "see `tenderwatch user --help`"


@dataclass
class User:
    """A signed-in user."""

    name: str


def accounts_path(store_path: Path) -> Path:
    """Return the accounts file of a store."""
    return store_path.with_name(store_path.name + ".accounts.sqlite")


class Accounts:
    """Users, API tokens and the secret that signs session cookies."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._connect() as con:
            con.executescript(
                """
                CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, password_hash TEXT NOT NULL,
                                                  created_at TEXT DEFAULT CURRENT_TIMESTAMP);
                CREATE TABLE IF NOT EXISTS tokens (token_hash TEXT PRIMARY KEY, name TEXT NOT NULL,
                                                   label TEXT, created_at TEXT DEFAULT CURRENT_TIMESTAMP);
                CREATE TABLE IF NOT EXISTS secrets (key TEXT PRIMARY KEY, value TEXT NOT NULL);
                """
            )

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        con = sqlite3.connect(self.path)
        try:
            with con:
                yield con
        finally:
            con.close()

    def secret(self) -> str:
        """Return the secret that signs session cookies (made once, kept in the file)."""
        with self._connect() as con:
            row = con.execute("SELECT value FROM secrets WHERE key = 'session'").fetchone()
            if row:
                return row[0]
            value = secrets.token_urlsafe(48)
            con.execute("INSERT INTO secrets VALUES ('session', ?)", (value,))
            return value

    def add_user(self, name: str, password: str) -> None:
        """Create a user.

        :raises AccountError: if the name is taken or empty, or the password is too short
        """
        name = name.strip()
        if not name:
            raise AccountError("a user name cannot be empty")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        try:
            with self._connect() as con:
                con.execute("INSERT INTO users (name, password_hash) VALUES (?, ?)", (name, _HASHER.hash(password)))
        except sqlite3.IntegrityError as error:
            raise AccountError(f"there is already a user called {name!r}") from error

    def check_password(self, name: str, password: str) -> User | None:
        """Return the user if the password is right, else None."""
        with self._connect() as con:
            row = con.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
        if row is None:
            _HASHER.hash(password)  # spend the same time whether or not the user exists
            return None
        try:
            _HASHER.verify(row[0], password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name)

    def create_token(self, name: str, label: str = "") -> str:
        """Create an API token for a user and return it (only its hash is kept)."""
        token = "tw_" + secrets.token_urlsafe(32)
        with self._connect() as con:
            con.execute(
                "INSERT INTO tokens (token_hash, name, label) VALUES (?, ?, ?)",
                (hashlib.sha256(token.encode()).hexdigest(), name, label),
            )
        return token

    def user_for_token(self, token: str) -> User | None:
        """Return the user an API token belongs to, or None."""
        with self._connect() as con:
            row = con.execute(
                "SELECT name FROM tokens WHERE token_hash = ?", (hashlib.sha256(token.encode()).hexdigest(),)
            ).fetchone()
        return User(row[0]) if row else None

    def users(self) -> list[str]:
        """Return the user names."""
        with self._connect() as con:
            return [row[0] for row in con.execute("SELECT name FROM users ORDER BY name")]
