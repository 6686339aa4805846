"""Posting receiveNIB as OSS does (CONTRACT §5): PIA's token header, the dataNIB body."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import UTC, datetime
from typing import Any

from izin.pia import WIB, Credentials, token


def post_receive_nib(
    base_url: str,
    data_nib: dict[str, Any],
    *,
    credentials: Credentials,
    now: datetime | None = None,
) -> tuple[int, dict[str, Any]]:
    """POST one dataNIB with the token of `now`'s WIB date; returns the status and answer."""
    day = (now or datetime.now(UTC)).astimezone(WIB).date()
    request = urllib.request.Request(  # noqa: S310 - a local or configured URL
        f"{base_url.rstrip('/')}/pia/receiveNIB",
        data=json.dumps({"dataNIB": data_nib}, ensure_ascii=False).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "token": token(credentials, str(data_nib.get("nib", "")), day),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
