"""What the `izin local` commands take from this shell for the functions (CONTRACT §4)."""

from __future__ import annotations

import pytest
from izin_local.config import runtime_options


def test_the_tembusan_e_seal_switch_reaches_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    # README: BSRE_SEAL_TEMBUSAN=true turns on the template's BsreSealTembusan locally.
    monkeypatch.setenv("BSRE_SEAL_TEMBUSAN", "true")
    monkeypatch.setenv("SIINAS_BASE_URL", "http://127.0.0.1:9/siinas")
    env = runtime_options(None)["env"]
    assert env["BSRE_SEAL_TEMBUSAN"] == "true"
    assert env["SIINAS_BASE_URL"] == "http://127.0.0.1:9/siinas"


def test_what_this_shell_does_not_set_is_left_to_the_template(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("BSRE_SEAL_TEMBUSAN", raising=False)
    monkeypatch.setenv("HOME_GROWN_SETTING", "x")
    env = runtime_options(None)["env"]
    assert "BSRE_SEAL_TEMBUSAN" not in env and "HOME_GROWN_SETTING" not in env
