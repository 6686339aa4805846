"""`izin demo`: one application through all 20 steps of the SOP, on the local runtime.

OSS and SIINAS post their events; every officer opens the email's link, reads the page,
fills the form and presses a button, over HTTP, as a person would. The path takes a field
inspection and one send-back by the Kepala Bidang; the Kepala Dinas signs step 14 through
the BSrE simulator with his passphrase. One line per step as it happens.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from izin.settings import Settings

from izin_local import function_logs
from izin_local.config import BSRE_SWITCH
from izin_local.runtime import LocalRuntime
from izin_local.scenario import Scenario, Trail, drive, step_line
from izin_local.testing import System, endpoints_of

DEMO_SCENARIO = Scenario(field_inspection=True, kepala_bidang_returns=1)


def run_demo(*, state_dir: Path, template: Path, options: dict[str, Any]) -> int:
    """Run the demo; 0 when the application ends as the scenario expects."""
    secrets = {
        "oss": options["secret_values"]["OssWebhookSecret"],
        "siinas": options["secret_values"]["SiinasWebhookSecret"],
    }
    id_izin = f"IP-DEMO-{time.strftime('%Y%m%d%H%M%S')}"
    if "BSRE_BASE_URL" not in options["env"]:  # the Kepala Dinas signs through BSrE's simulator
        options["env"] = {BSRE_SWITCH: "simulator", **options["env"]}
    started = time.monotonic()
    function_log = state_dir / "functions.log"
    with LocalRuntime(template, state_dir, function_log=function_log, **options) as runtime:
        print("izin demo: Izin Perluasan, satu permohonan melalui 20 langkah SOP")
        print(f"  HTTP API     {runtime.http_url}   (outbox: {runtime.http_url}/_local/outbox)")
        print(f"  AWS endpoint {runtime.aws_endpoint}")
        print(f"  permohonan   {id_izin}: PT Sawit Kapuas Lestari, KBLI 10431, Kabupaten Sanggau,")
        print("               60 -> 90 ton TBS/jam; jalur: pemeriksaan lapangan, satu pengembalian")
        print()
        print(f"{'waktu':>8}  no  {'pelaksana':<13} {'petugas':<28} keputusan / hasil")
        roster = Settings.model_validate(dict(os.environ)).roster_path()
        endpoints = endpoints_of(runtime, roster, secrets)
        with Trail(
            endpoints.store,
            id_izin,
            lambda e: print(step_line(e, time.monotonic() - started), flush=True),
        ):
            final = drive(endpoints, id_izin, DEMO_SCENARIO)
        execution = System(runtime, endpoints).finished(id_izin)
        emails = len(runtime.outbox.messages())
        print()
        print(
            f"Hasil: {final.get('outcome')} (status {final.get('status')}); "
            f"eksekusi {execution['status']} dalam {time.monotonic() - started:.1f} s; "
            f"{emails} email di {runtime.outbox.directory}"
        )
        ok = final.get("outcome") == "BERLAKU_EFEKTIF" and execution["status"] == "SUCCEEDED"
    print("\n".join(function_logs.summary(function_log)))
    return 0 if ok else 1
