"""Evidence uploads through the running system (issue 13): a field photo uploaded at step 10
goes from the task page's form straight to S3 (moto, holding the presigned POST to its
policy), is listed on the page, and appears in the BAP's lampiran with its SHA-256; a file
over the size limit is refused by S3, a file that is no JPEG, PNG or PDF by the page.
"""

from __future__ import annotations

import hashlib

import boto3
from izin.documents import latest_documents
from izin.evidence import MAX_BYTES
from izin.roster import Role
from izin_local import samples
from izin_local.officer import (
    Officer,
    http_get,
    parse_task_page,
    upload_file,
)
from izin_local.scenario import signing, submit, wait_for_step
from izin_local.testing import System

ID_IZIN = "IP-LAMPIRAN-001"
# A JPEG as a phone writes one: the marker S3 is not asked about, the page is.
PHOTO = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 40


def test_a_photo_uploaded_at_step_10_is_listed_and_attached_to_the_bap(system: System) -> None:
    endpoints = system.endpoints
    ketua = endpoints.roster.holders(Role.TIM_TEKNIS)[0]
    submit(endpoints, ID_IZIN)
    officer = Officer(system.runtime.outbox, ID_IZIN, endpoints.roster)
    for step, decision in ((4, "done"), (5, "done"), (6, "done"), (7, "done"), (8, "yes")):
        assert officer.act(step, decision).status == 200
    link = next(link for link in officer.task_email(10).links if "/tasks/" in link)
    status, page = http_get(link)
    assert status == 200 and 'enctype="multipart/form-data"' in page

    # Over the limit: S3 refuses it (content-length-range), nothing is kept.
    status, answer = upload_file(page, "besar.jpg", PHOTO[:3] + b"\0" * MAX_BYTES)
    assert status == 400 and "EntityTooLarge" in answer
    # Within the limit but no JPEG, PNG or PDF: the page refuses it, and it is deleted.
    status, answer = upload_file(page, "catatan.jpg", b"bukan foto")
    assert status == 422 and "Jenis berkas tidak diterima" in answer
    # The photo: recorded, and the page lists it with its name, size and who uploaded it.
    status, page = upload_file(page, "tangki-cpo.jpg", PHOTO)
    assert status == 200, page
    assert "tangki-cpo.jpg" in page and f"diunggah {ketua.nama}" in page
    assert "catatan.jpg" not in page and "besar.jpg" not in page
    bucket = system.runtime.bucket_names["DocumentBucket"]
    kept = boto3.client("s3").list_objects_v2(Bucket=bucket, Prefix=f"applications/{ID_IZIN}/")
    uploaded = [o["Key"] for o in kept.get("Contents", []) if "/lampiran/" in o["Key"]]
    assert [k.rsplit("/", 1)[-1] for k in uploaded] == ["tangki-cpo.jpg"]

    form = parse_task_page(page)
    assert form is not None
    fields = {
        **form.fields,
        **{k: [v] for k, v in samples.field_inspection().items()},
        "nip": [ketua.nip],
        "decision": ["done"],
    }
    status, _ = system.post_form(link, fields)
    assert status == 200

    signed, pages = signing(officer)
    decided = officer.act(11, "done", fields={**samples.bap(), **signed}, uploads=pages)
    assert decided.status == 200, decided.page
    # As a browser does: the page opened, then shown again by the upload's redirect, with
    # the officer's session; the form filled there (the bench counts what a browser costs).
    trail = endpoints.store.audit(ID_IZIN)
    assert len([e for e in trail if e["action"] == "task.viewed" and e["step"] == 11]) == 2
    wait_for_step(endpoints, ID_IZIN, 12)
    bap = latest_documents(endpoints.store, ID_IZIN)["bap"]
    text = boto3.client("s3").get_object(Bucket=bucket, Key=bap["key"])["Body"].read().decode()
    assert "<h2>Lampiran</h2>" in text
    assert "tangki-cpo.jpg (foto JPEG" in text and "langkah 10" in text
    assert hashlib.sha256(PHOTO).hexdigest() in text
    assert "bap-ditandatangani.pdf (PDF" in text and "langkah 11" in text
    # Every line signed: the ketua by his decisions, the anggota on paper, the company.
    assert ".............." not in text
    assert "Ir. Lukas Tan" in text and "ditandatangani " in text
