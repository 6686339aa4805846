"""The roster at run time under the local runtime (issue #14): the Kepala Bidang, signed in,
adds an Operator on /konsol/petugas and makes the shipped one inactive; without a restart
the next application's step 04 goes to the new Operator, who enrolls from the emailed link
and decides it, while the inactive Operator's session and sign-in are refused.

Everything goes through the running system as people would: /masuk, the page's forms, the
emails in the outbox, the task pages over HTTP.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from izin.auth import code_for
from izin.roster import Role
from izin_local.officer import code_after, hidden_csrf, http_request, parse_task_page
from izin_local.scenario import submit
from izin_local.testing import System

ID_IZIN = "IP-PETUGAS-001"
OWN_RUNTIME = "roster-page"  # the table's roster changes who holds the Operator's role

NEW_OPERATOR = {
    "role": "operator",
    "nama": "Wulan Sari, S.Kom.",
    "nip": "199608172021022001",
    "jabatan": "Operator SIINAS Bidang Perindustrian",
    "email": "wulan.sari@disperindag.kalbar.example",
    "pangkat": "Penata Muda",
    "golongan": "III/a",
    "aktif": "ya",
}


def test_an_operator_added_on_the_page_takes_the_next_task_and_the_inactive_one_is_refused(
    system: System,
) -> None:
    endpoints, outbox, url = system.endpoints, system.runtime.outbox, system.runtime.http_url
    kabid, rina = endpoints.roster.first(Role.KEPALA_BIDANG), endpoints.roster.first(Role.OPERATOR)
    rina_session = [system.browsers.cookie(rina.nip)]
    assert http_request(f"{url}/meja", cookies=rina_session).status == 200
    cookie = [system.browsers.cookie(kabid.nip)]
    page = http_request(f"{url}/konsol/petugas", cookies=cookie)
    assert page.status == 200 and f'data-nip="{rina.nip}"' in page.text

    # A bad NIP is named by its field; nothing is written.
    bad = {k: [v] for k, v in {**NEW_OPERATOR, "nip": "1996"}.items()}
    refused = http_request(
        f"{url}/konsol/petugas", {**bad, "csrf": [hidden_csrf(page.text)]}, cookies=cookie
    )
    assert refused.status == 422 and "NIP harus 18 angka" in refused.text
    assert endpoints.store.roster_record() is None

    fields = {k: [v] for k, v in NEW_OPERATOR.items()}
    added = http_request(
        f"{url}/konsol/petugas",
        {**fields, "aksi": ["simpan"], "csrf": [hidden_csrf(page.text)]},
        cookies=cookie,
    )
    assert added.status == 303, added.text
    rina_fields = {
        "role": ["operator"],
        "nama": [rina.nama],
        "jabatan": [rina.jabatan],
        "email": [str(rina.email)],
        "pangkat": [rina.pangkat],
        "golongan": [rina.golongan],
        "aktif": ["tidak"],
        "nip_asal": [rina.nip],
        "aksi": ["simpan"],
        "csrf": [hidden_csrf(page.text)],
    }
    assert http_request(f"{url}/konsol/petugas", rina_fields, cookies=cookie).status == 303
    trail = endpoints.store.officer_audit(rina.nip)
    assert trail[-1]["changes"] == {"aktif": {"before": True, "after": False}}
    assert trail[-1]["nip"] == kabid.nip

    # The inactive Operator: her session ends with it, and she cannot sign in again.
    assert http_request(f"{url}/meja", cookies=rina_session).status == 303
    masuk = http_request(f"{url}/masuk")
    code = system.browsers.codes.next(rina.nip)
    signin = {"csrf": [hidden_csrf(masuk.text)], "nip": [rina.nip], "kode": [code]}
    assert http_request(f"{url}/masuk", signin, cookies=masuk.cookies).status == 403

    # The new Operator enrolls from the emailed link…
    email = outbox.wait_for(
        lambda m: "Aktifkan kode masuk" in m.subject and NEW_OPERATOR["email"] in m.to, timeout=60
    )
    link = next(link for link in email.links if "/daftar-kode/" in link)
    enroll_page = http_request(link)
    found = re.search(r'<code id="kunci" class="hash">([A-Z2-7 ]+)</code>', enroll_page.text)
    assert found, enroll_page.text
    secret = found.group(1).replace(" ", "")
    enrolled_at = datetime.now(UTC)
    kode = {"csrf": [hidden_csrf(enroll_page.text)], "kode": [code_for(secret, enrolled_at)]}
    assert http_request(link, kode, cookies=enroll_page.cookies).status == 200

    # …and, with no restart, holds the next application's step 04 and decides it.
    submit(endpoints, ID_IZIN)
    step4 = outbox.wait_for(
        lambda m: "Langkah 04 " in m.subject and f"ID Izin    : {ID_IZIN}" in (m.text or ""),
        timeout=60,
    )
    assert step4.to == (NEW_OPERATOR["email"],)
    task_link = next(link for link in step4.links if "/tasks/" in link)
    task = http_request(task_link)
    form = parse_task_page(task.text)
    assert task.status == 200 and form is not None and form.step == 4
    values = {
        **form.fields,
        "nip": [NEW_OPERATOR["nip"]],
        "kode": [code_after(secret, enrolled_at)],  # the enrollment took its window's
        "decision": ["done"],
    }
    assert http_request(task_link, values).status == 200
    decided = [e for e in endpoints.store.audit(ID_IZIN) if e["action"] == "task.decided"]
    assert (decided[-1]["step"], decided[-1]["nip"]) == (4, NEW_OPERATOR["nip"])
