"""The end-of-run summary of what the functions logged (`izin demo`, `izin bench`)."""

from __future__ import annotations

import json
from pathlib import Path

from izin_local.function_logs import summary


def _entry(level: str, message: str, function: str = "DeadlineFunction") -> str:
    return json.dumps(
        {"level": level, "message": message, "function_name": f"izin-local-{function}"}
    )


def test_warnings_and_errors_are_told_once_each_with_their_count(tmp_path: Path) -> None:
    log = tmp_path / "functions.log"
    log.write_text(
        "\n".join(
            [
                _entry("INFO", "event applied", "InboundFunction"),
                _entry("WARNING", "deadline over days off not yet decreed"),
                _entry("WARNING", "deadline over days off not yet decreed"),
                _entry("ERROR", "SIINAS refused the upload", "SiinasWorkerFunction"),
                "Traceback (most recent call last):",
                "",
            ]
        )
    )
    assert summary(log) == [
        f"log fungsi: 2 peringatan, 2 galat ({log})",
        "  peringatan DeadlineFunction: deadline over days off not yet decreed (2x)",
        "  galat      SiinasWorkerFunction: SIINAS refused the upload",
        "  galat      Traceback (most recent call last):",
    ]


def test_a_quiet_run_says_so_and_where_its_log_is(tmp_path: Path) -> None:
    log = tmp_path / "functions.log"
    log.write_text(_entry("INFO", "event applied") + "\n")
    assert summary(log) == [f"log fungsi: tanpa peringatan atau galat ({log})"]
    assert summary(tmp_path / "none.log") == [
        f"log fungsi: tanpa peringatan atau galat ({tmp_path / 'none.log'})"
    ]
