"""Officers' second factor: TOTP codes (RFC 6238: SHA-1, 6 digits, 30 s), CONTRACT §3 and §6.

NIPs are printed on every letter, so a NIP proves nothing alone: a decision or a sign-in
needs the officer's current code as well. Each officer's secret is kept in the table
encrypted under the stack's KMS key (`OfficerSecretsKey`, the NIP as encryption
context), and is never in an email, a log line, or a page but the enrollment page itself.

A code is taken once: the time-step it belongs to is recorded per officer in the same
conditional write that accepts it, so replaying a code (or an older one) fails even when
two requests race. Enrollment (`start_enrollment`) emails a one-time link (a ticket, like
a task's); the page shows the QR code and asks for one code before the secret counts.
"""

from __future__ import annotations

import base64
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

import pyotp

from izin.aws import client
from izin.roster import Officer, Roster, RosterError
from izin.settings import SettingsError
from izin.store import Item, Store

PERIOD = 30
DIGITS = 6
# A code of the step before or after the current one is taken too (a phone's clock drifts).
DRIFT_STEPS = 1
ISSUER = "Izin Perluasan"
ENROLLMENT_HOURS = 72
_CODE = re.compile(r"\d{6}")


class Cipher(Protocol):
    """Encrypts an officer's secret (the context is bound to the ciphertext)."""

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes: ...
    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes: ...


class KmsCipher:
    """KMS Encrypt/Decrypt under one key, with an encryption context."""

    def __init__(self, key_id: str) -> None:
        self._key_id = key_id

    @property
    def key_id(self) -> str:
        """The key (its absence fails the first call that needs it, not the page's start)."""
        if not self._key_id:
            raise SettingsError("environment not configured: IZIN_TOTP_KEY_ID")
        return self._key_id

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        """The ciphertext of `plaintext`."""
        answer = client("kms").encrypt(
            KeyId=self.key_id, Plaintext=plaintext, EncryptionContext=dict(context)
        )
        return bytes(answer["CiphertextBlob"])

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        """The plaintext of `ciphertext` (KMS refuses another key or context)."""
        answer = client("kms").decrypt(
            KeyId=self.key_id, CiphertextBlob=ciphertext, EncryptionContext=dict(context)
        )
        return bytes(answer["Plaintext"])


@dataclass
class Auth:
    """What checking an officer's second factor and session needs."""

    store: Store
    roster: Roster
    cipher: Cipher
    now: datetime
    # The key sessions' cookies are signed with (read only when a cookie is to be checked).
    session_key: Callable[[], bytes]
    # Cookies are Secure unless the pages are served on http://127.0.0.1 (the local runtime).
    secure_cookies: bool = True
    session_seconds: int = 8 * 3600
    public_base_url: str = ""
    # A session is taken as its signed cookie says, unread, each write carrying the checks
    # that it is live (izin.sessions.signed_in): the task page's, whose store is a view.
    presumes: bool = False
    # Secrets unsealed during this request (one KMS Decrypt per officer at most).
    _secrets: dict[str, str | None] = field(default_factory=dict, repr=False)

    def forget(self, nip: str) -> None:
        """Drop an officer's unsealed secret (it has just changed)."""
        self._secrets.pop(nip, None)


def code_for(secret: str, at: datetime) -> str:
    """The code an authenticator app shows at `at` (for tests and the local tools)."""
    return str(pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).at(at))


def time_step(at: datetime) -> int:
    """The RFC 6238 counter of `at`."""
    return int(at.timestamp()) // PERIOD


def matching_step(secret: str, code: str, now: datetime) -> int | None:
    """The time-step (now, or one either side) whose code is `code`, or None."""
    if not _CODE.fullmatch(code):
        return None
    totp = pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD)
    current = time_step(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(str(totp.generate_otp(step)), code):
            found = step
    return found


def new_secret() -> str:
    """A fresh base32 secret (160 bits, as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def _context(nip: str) -> dict[str, str]:
    return {"izin:nip": nip}


def seal(cipher: Cipher, nip: str, secret: str) -> str:
    """A secret as the table keeps it: KMS ciphertext, base64."""
    return base64.b64encode(cipher.encrypt(secret.encode(), _context(nip))).decode()


def unseal(cipher: Cipher, nip: str, sealed: str) -> str:
    """A kept secret in clear, for checking one code."""
    return cipher.decrypt(base64.b64decode(sealed), _context(nip)).decode()


def secret_of(auth: Auth, nip: str) -> str | None:
    """The officer's enrolled secret, or None when they have none."""
    if nip not in auth._secrets:
        record = auth.store.officer_auth(nip) or {}
        sealed = record.get("secret")
        auth._secrets[nip] = unseal(auth.cipher, nip, sealed) if sealed else None
    return auth._secrets[nip]


def code_step(auth: Auth, officer: Officer, code: str) -> int | None:
    """The time step whose code for the officer `code` is, or None; whether it was taken
    before, `spend_code` finds out."""
    secret = secret_of(auth, officer.nip)
    return matching_step(secret, code.strip(), auth.now) if secret else None


def spend_code(store: Store, nip: str, step: int, *, also: Item | None = None) -> None:
    """Take the officer's code of this time step (and set `also` on their record): a code
    is good once, so the step must be later than the last one taken (else ConditionFailed).
    Through a together() block, the sign-in's session is written with it."""
    store.update_officer_auth(nip, {"last_step": step, **(also or {})}, below={"last_step": step})


def officer_by_nip(roster: Roster, nip: str) -> Officer | None:
    """The roster's officer with this NIP, or None."""
    try:
        return roster.by_nip(nip)
    except RosterError:
        return None


def enroll_secret(
    store: Store, cipher: Cipher, officer: Officer, secret: str, now: datetime
) -> None:
    """Keep `secret` as the officer's, encrypted; codes of the old one stop working."""
    store.update_officer_auth(
        officer.nip,
        {"secret": seal(cipher, officer.nip, secret), "enrolled_at": now.isoformat()},
        remove=("last_step",),
    )


def seed_from_roster(store: Store, cipher: Cipher, roster: Roster, now: datetime) -> list[str]:
    """A local roster's `totp_secret`s kept as enrollments (officers enrolled already kept).

    Only the local runtime and the tests call it: a deployed stack refuses a roster that
    carries secrets (izin.wiring.roster). Returns the NIPs seeded.
    """
    seeded = []
    for officer in roster.officers:
        if officer.totp_secret and not (store.officer_auth(officer.nip) or {}).get("secret"):
            enroll_secret(store, cipher, officer, officer.totp_secret, now)
            seeded.append(officer.nip)
    return seeded


def provisioning_uri(secret: str, officer: Officer) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=PERIOD).provisioning_uri(
        name=officer.nip, issuer_name=ISSUER
    )


def enrollment_deadline(now: datetime) -> datetime:
    """Until when an enrollment link works."""
    return now + timedelta(hours=ENROLLMENT_HOURS)
