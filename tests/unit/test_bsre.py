"""BSrE's esign API v2 (#16): the client against the simulator over HTTP, the simulator's
signatures checked by pyHanko, and each of the API's quirks met."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from izin.bsre import (
    MIN_IMAGE,
    SIGN_PATH,
    BsreClient,
    BsreError,
    BsreUnavailable,
    Placement,
    SealKey,
    Signer,
    Verification,
    WrongPassphrase,
    signature_image,
)
from izin.integrations import Response, StdlibHttp
from izin_local.bsre_simulator import CLIENT_ID, CLIENT_SECRET, BsreSimulator, verify_with
from PIL import Image

NIK = "6171010101700001"
PASSPHRASE = "rahasia-kepala-dinas"
PLACEMENT = Placement(page=1, origin_x=330, origin_y=650, width=200, height=80)


def a_pdf(text: str = "Berita Acara Pemeriksaan") -> bytes:
    pdf = FPDF()
    pdf.set_compression(False)  # the text stays findable, to be tampered with
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=text)
    return bytes(pdf.output())


@pytest.fixture(scope="module")
def bsre() -> Iterator[BsreSimulator]:
    simulator = BsreSimulator({NIK: ("Ir. H. Kepala Dinas, M.T.", PASSPHRASE)})
    simulator.start()
    try:
        yield simulator
    finally:
        simulator.stop()


def client(bsre: BsreSimulator, secret: str = CLIENT_SECRET) -> BsreClient:
    return BsreClient(bsre.url, CLIENT_ID, secret, StdlibHttp(10))


def sign(bsre: BsreSimulator | BsreClient, signer: Signer, image: bytes | None = None) -> bytes:
    signing = client(bsre) if isinstance(bsre, BsreSimulator) else bsre
    return signing.sign_pdf(
        a_pdf(),
        signer,
        image_png=image or signature_image("Kepala Dinas", "Kepala Dinas"),
        placement=PLACEMENT,
        location="Pontianak",
        reason="Persetujuan BAP",
    )


def test_a_signed_pdf_carries_a_signature_that_pyhanko_verifies(bsre: BsreSimulator) -> None:
    signed = sign(bsre, Signer(NIK, passphrase=PASSPHRASE))
    assert verify_with(signed, bsre.root_certificate_pem) == ["Ir. H. Kepala Dinas, M.T."]
    assert client(bsre).verify_pdf(signed).valid


def test_a_changed_byte_breaks_the_signature(bsre: BsreSimulator) -> None:
    signed = bytearray(sign(bsre, Signer(NIK, passphrase=PASSPHRASE)))
    at = signed.index(b"Berita Acara")
    signed[at] = ord("b")
    assert verify_with(bytes(signed), bsre.root_certificate_pem) is None
    assert not client(bsre).verify_pdf(bytes(signed)).valid


def test_a_wrong_passphrase_is_its_own_error(bsre: BsreSimulator) -> None:
    with pytest.raises(WrongPassphrase, match="Passphrase anda salah"):
        sign(bsre, Signer(NIK, passphrase="salah"))


def test_a_bsre_totp_of_the_enrolled_secret_signs_and_a_wrong_one_is_a_wrong_passphrase(
    bsre: BsreSimulator,
) -> None:
    import pyotp

    nik, secret = "6171010101700002", "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    bsre.enroll(nik, "Plh. Kepala Dinas", "passphrase-lain", secret)
    code = pyotp.TOTP(secret).now()
    signed = sign(bsre, Signer(nik, totp=code))
    assert verify_with(signed, bsre.root_certificate_pem) == ["Plh. Kepala Dinas"]
    wrong = f"{(int(code) + 500_000) % 1_000_000:06d}"
    with pytest.raises(WrongPassphrase):
        sign(bsre, Signer(nik, totp=wrong))
    with pytest.raises(WrongPassphrase):  # a NIK enrolled without a TOTP secret
        sign(bsre, Signer(NIK, totp=code))
    with pytest.raises(WrongPassphrase):  # the passphrase where a TOTP code goes
        sign(bsre, Signer(nik, totp="passphrase-lain"))


def test_the_simulator_takes_one_secret_not_both(bsre: BsreSimulator) -> None:
    body = {"nik": NIK, "passphrase": PASSPHRASE, "totp": "123456"}
    image = base64.b64encode(signature_image("Kepala Dinas", "Kepala Dinas")).decode()
    properties = [{"imageBase64": image}]
    answer = bsre.answer("POST", SIGN_PATH, {**body, "signatureProperties": properties})
    assert answer is not None
    status, document = answer
    assert status == 400 and document["status_code"] == 2031  # the client never sends both


def _image_b64() -> str:
    return base64.b64encode(signature_image("Kepala Dinas", "Kepala Dinas")).decode()


def test_a_good_file_answered_with_500_is_a_signature(bsre: BsreSimulator) -> None:
    bsre.signed_with_500_next(1)
    signed = sign(bsre, Signer(NIK, passphrase=PASSPHRASE))
    assert bsre.requests[-1].status == 500
    assert verify_with(signed, bsre.root_certificate_pem)


def test_a_500_without_a_file_is_unavailable_and_so_is_no_answer(bsre: BsreSimulator) -> None:
    bsre.fail_next(1, 500)
    with pytest.raises(BsreUnavailable, match="500"):
        sign(bsre, Signer(NIK, passphrase=PASSPHRASE))
    down = BsreClient("http://127.0.0.1:9", CLIENT_ID, CLIENT_SECRET, StdlibHttp(2))
    with pytest.raises(BsreUnavailable):
        sign(down, Signer(NIK, passphrase=PASSPHRASE))


def test_a_too_small_image_is_refused_so_ours_never_is(bsre: BsreSimulator) -> None:
    small = io.BytesIO()
    Image.new("RGB", (MIN_IMAGE[0] - 1, MIN_IMAGE[1])).save(small, format="PNG")
    with pytest.raises(BsreError, match="terlalu kecil"):
        sign(bsre, Signer(NIK, passphrase=PASSPHRASE), image=small.getvalue())
    with Image.open(io.BytesIO(signature_image("Nama Panjang Sekali", "Kepala Dinas"))) as ours:
        assert ours.size[0] >= MIN_IMAGE[0] and ours.size[1] >= MIN_IMAGE[1]


def test_other_client_credentials_are_refused(bsre: BsreSimulator) -> None:
    with pytest.raises(BsreError, match="401"):
        sign(client(bsre, secret="bukan"), Signer(NIK, passphrase=PASSPHRASE))


def test_the_request_has_the_shape_of_api_v2_and_always_an_image() -> None:
    sent: list[dict[str, object]] = []

    class Recording:
        def post(self, url: str, body: dict[str, object], headers: dict[str, str]) -> Response:
            sent.append({"url": url, **body})
            return Response(400, json.dumps({"status_code": 2031, "error": "x"}).encode())

    with pytest.raises(WrongPassphrase):
        BsreClient("https://esign.example/", "id", "s", Recording()).sign_pdf(  # type: ignore[arg-type]
            a_pdf(),
            Signer(NIK, totp="123456"),
            image_png=signature_image("a", "b"),
            placement=PLACEMENT,
            location="Pontianak",
            reason="Persetujuan",
        )
    (body,) = sent
    assert body["url"] == "https://esign.example/api/v2/sign/pdf"
    assert body["nik"] == NIK and body["totp"] == "123456" and "passphrase" not in body
    props: dict[str, Any] = body["signatureProperties"][0]  # type: ignore[index]
    assert props["tampilan"] == "VISIBLE" and base64.b64decode(props["imageBase64"])
    assert (props["originX"], props["originY"], props["width"], props["height"]) == (
        330,
        650,
        200,
        80,
    )


def test_v2_measures_y_from_the_top_v1_from_the_bottom() -> None:
    assert PLACEMENT.y_from_bottom(842) == 842 - 650 - 80


def test_a_signer_holds_one_secret_and_never_shows_it() -> None:
    with pytest.raises(ValueError, match="one of them"):
        Signer(NIK)
    with pytest.raises(ValueError, match="one of them"):
        Signer(NIK, passphrase="a", totp="1")
    assert NIK not in repr(Signer(NIK, passphrase=PASSPHRASE))
    assert PASSPHRASE not in repr(Signer(NIK, passphrase=PASSPHRASE))


# -- the Dinas's e-seal on the tembusan copy -----------------------------------------------


def test_an_e_seal_is_a_second_signature_under_the_seal_account(bsre: BsreSimulator) -> None:
    import pyotp
    from izin_local.bsre_simulator import SEAL_ID_SUBSCRIBER, SEAL_NAME, SEAL_TOTP_SECRET

    signed = sign(bsre, Signer(NIK, passphrase=PASSPHRASE))
    key = SealKey(SEAL_ID_SUBSCRIBER, pyotp.TOTP(SEAL_TOTP_SECRET).now())
    sealed = client(bsre).seal_pdf(signed, key, location="Pontianak", reason="Tembusan")
    assert sealed.startswith(signed)  # appended: the Kepala Dinas's signature stays whole
    names = verify_with(sealed, bsre.root_certificate_pem)
    assert names == ["Ir. H. Kepala Dinas, M.T.", SEAL_NAME]
    body = bsre.requests[-1].json
    assert set(body) == {"idSubscriber", "totp", "signatureProperties", "file"}
    assert body["signatureProperties"][0]["tampilan"] == "INVISIBLE"
    assert key.totp not in repr(key) and SEAL_ID_SUBSCRIBER not in repr(key)
    wrong = SealKey(SEAL_ID_SUBSCRIBER, f"{(int(key.totp) + 500_000) % 1_000_000:06d}")
    with pytest.raises(WrongPassphrase):
        client(bsre).seal_pdf(signed, wrong, location="Pontianak", reason="Tembusan")


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str, str], None]]:
    """A function's environment: set a variable, and the settings are read afresh."""
    from izin import settings as settings_module

    def setenv(name: str, value: str) -> None:
        monkeypatch.setenv(name, value)
        settings_module.settings.cache_clear()

    for name, value in {
        "TABLE_NAME": "t",
        "BUCKET_NAME": "b",
        "PUBLIC_BASE_URL": "https://izin.example",
        "MAIL_FROM": "izin@example.go.id",
        "BSRE_CREDENTIALS_SECRET_ARN": "arn:aws:secretsmanager:ap-southeast-3:1:secret:bsre",
    }.items():
        setenv(name, value)
    yield setenv
    settings_module.settings.cache_clear()


def test_the_e_seal_is_off_unless_configured_and_needs_a_seal_account(
    environment: Callable[[str, str], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    from izin import wiring

    monkeypatch.setattr(wiring, "secret", lambda _arn: json.dumps({"client_id": "c"}))
    assert wiring.tembusan_seal() is None  # off by default
    environment("BSRE_SEAL_TEMBUSAN", "true")
    environment("BSRE_BASE_URL", "https://esign.example")
    seal = wiring.tembusan_seal()
    assert seal is not None
    with pytest.raises(BsreError, match="seal account"):  # the tembusan goes unsealed
        seal(a_pdf())


# -- offline: the signatures checked here against BSrE's roots -----------------------------


def test_offline_a_signature_holds_only_intact_and_under_the_roots_given(
    bsre: BsreSimulator, environment: Callable[[str, str], None], tmp_path: Path
) -> None:
    from izin import wiring

    assert wiring.offline_verify() is None  # not configured: no offline check
    signed = sign(bsre, Signer(NIK, passphrase=PASSPHRASE))
    roots = tmp_path / "roots.pem"
    roots.write_bytes(BsreSimulator().root_certificate_pem + bsre.root_certificate_pem)
    environment("BSRE_TRUST_ROOTS_FILE", str(roots))
    check = wiring.offline_verify()
    assert check is not None
    assert check(signed) == Verification(True, "VALID", ("Ir. H. Kepala Dinas, M.T.",))
    at = signed.index(b"Berita Acara")
    tampered = signed[:at] + b"b" + signed[at + 1 :]
    assert check(tampered).valid is False
    assert check(a_pdf()).valid is False  # no signature at all
    roots.write_bytes(BsreSimulator().root_certificate_pem)  # another CA only
    other = wiring.offline_verify()
    assert other is not None and other(signed).valid is False
