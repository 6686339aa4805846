"""A task page's form: defaults for an application, and what a POST may and may not say."""

from datetime import date

import pytest
from izin import forms, sop
from izin.roster import Role, load_roster
from izin_local import samples
from izin_local.testing import ROSTER as ROSTER_FILE

ROSTER = load_roster(ROSTER_FILE)
APPLICATION = {"id_izin": "IP-1", "data": samples.permohonan("IP-1")}
TODAY = date(2026, 11, 26)
# What the Tim Teknis must write at steps 10 and 11: no finding or count is filled for them.
FINDINGS: dict[int, dict[str, str | list[str]]] = {
    10: {**samples.field_inspection()},
    11: {**samples.bap(), **samples.signatures([])},
}


def posted_with_findings(step: int, fields: dict[str, str | list[str]]) -> dict[str, list[str]]:
    """The POST, with the findings an officer must type filled as a test's officer would."""
    sent = {**FINDINGS.get(step, {}), **fields}
    return {k: v if isinstance(v, list) else [v] for k, v in sent.items()}


def parse(step: int, **fields: str | list[str]) -> forms.Submission:
    form = sop.step(step)
    posted = posted_with_findings(step, fields)
    return forms.parse(form, posted, forms.defaults(form, APPLICATION, ROSTER, TODAY), ROSTER)


def test_fields_a_post_leaves_out_take_their_defaults() -> None:
    submission = parse(7, decision="done")
    team = ROSTER.holders(Role.TIM_TEKNIS)
    assert submission.values["ketua"] == team[0].nip
    assert submission.values["anggota"] == [o.nip for o in team[1:]]
    assert submission.values["tanggal_mulai"] == "2026-11-26"


def test_unticking_every_member_is_an_answer_not_the_default_team() -> None:
    # The page sends the field with an empty value even when no box is ticked.
    assert errors_of(7, decision="done", anggota=[""]) == {"anggota": "Pilih paling sedikit satu."}
    assert "anggota" in errors_of(7, decision="done", anggota=[])


def test_findings_start_empty_and_must_be_written() -> None:
    start = forms.defaults(sop.step(10), APPLICATION, ROSTER, TODAY)
    assert (start["temuan"], start["kondisi_mesin"]) == ("", "")
    assert start["tanggal_pemeriksaan"] == "2026-11-26"  # a date is a sensible default
    form = sop.step(10)
    with pytest.raises(forms.FormInvalid) as invalid:
        forms.parse(form, {"decision": ["done"]}, start, ROSTER)
    assert invalid.value.errors == {"kondisi_mesin": "Wajib diisi.", "temuan": "Wajib diisi."}
    bap = forms.defaults(sop.step(11), APPLICATION, ROSTER, TODAY)
    assert {bap[k] for k in ("tki_l", "tki_p", "tka_l", "tka_p")} == {""}
    with pytest.raises(forms.FormInvalid) as invalid:
        forms.parse(sop.step(11), {"decision": ["done"]}, bap, ROSTER)
    # ...and the company's representative who signed the BAP must be named.
    assert set(invalid.value.errors) == {"tki_l", "tki_p", "tka_l", "tka_p", "wakil_perusahaan"}


def test_the_bap_starts_from_the_application_s_figures() -> None:
    values = parse(11, decision="done").values
    assert (values["kapasitas_sebelum"], values["kapasitas_penambahan"]) == (60, 30)
    assert values["kapasitas_sesudah"] == 90
    assert values["investasi"] == 85_000_000_000
    assert values["kesimpulan"] == "siap"


def test_a_required_field_sent_empty_is_an_error_by_that_field() -> None:
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(6, disposisi="   ", decision="done")
    assert set(invalid.value.errors) == {"disposisi"}


def test_a_send_back_needs_its_note_but_no_field_inspection_does_not() -> None:
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(13, decision="no")
    assert "catatan" in invalid.value.errors
    assert parse(13, decision="no", catatan="Lengkapi foto").decision == sop.Decision.NO
    assert parse(8, decision="no").decision == sop.Decision.NO


def test_an_incomplete_file_needs_a_note_saying_what_is_missing() -> None:
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(4, decision="done", kelengkapan="tidak_lengkap")
    assert set(invalid.value.errors) == {"catatan"}
    done = parse(4, decision="done", kelengkapan="tidak_lengkap", catatan="AMDAL belum ada")
    assert done.values["kelengkapan"] == "tidak_lengkap"
    assert parse(4, decision="done").values["kelengkapan"] == "lengkap"


def test_a_decision_the_step_does_not_offer_is_refused() -> None:
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(4, decision="yes")
    assert "decision" in invalid.value.errors


def test_numbers_in_indonesian_or_plain_writing() -> None:
    values = parse(
        11,
        investasi="85.000.000.000",
        kapasitas_sebelum="60,5",
        kapasitas_penambahan="29,5",
        kapasitas_sesudah="90",
        decision="done",
    ).values
    assert values["investasi"] == 85_000_000_000
    assert values["kapasitas_sebelum"] == 60.5
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(11, tki_l="banyak", decision="done")
    assert "tki_l" in invalid.value.errors


def test_capacities_must_add_up() -> None:
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(
            11,
            kapasitas_sebelum="60",
            kapasitas_penambahan="30",
            kapasitas_sesudah="100",
            decision="done",
        )
    assert "kapasitas_sesudah" in invalid.value.errors


def test_the_team_has_a_ketua_and_another_member_from_the_roster() -> None:
    ketua = ROSTER.holders(Role.TIM_TEKNIS)[0].nip
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(7, ketua=ketua, anggota=[ketua], decision="done")
    assert "anggota" in invalid.value.errors
    kasi = ROSTER.first(Role.KASI).nip
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(7, ketua=kasi, decision="done")
    assert "ketua" in invalid.value.errors
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(7, tanggal_mulai="2026-12-02", tanggal_selesai="2026-12-01", decision="done")
    assert "tanggal_selesai" in invalid.value.errors


def test_a_choice_outside_its_list_and_a_bad_date_are_errors() -> None:
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(11, kesimpulan="mungkin", decision="done")
    assert "kesimpulan" in invalid.value.errors
    with pytest.raises(forms.FormInvalid) as invalid:
        parse(10, tanggal_pemeriksaan="26/11/2026", decision="done")
    assert "tanggal_pemeriksaan" in invalid.value.errors


def errors_of(step: sop.Step | int, **fields: str | list[str]) -> dict[str, str]:
    """The errors a POST of these fields is refused with (it must be refused)."""
    form = sop.step(step) if isinstance(step, int) else step
    posted = posted_with_findings(form.number if isinstance(step, int) else 0, fields)
    with pytest.raises(forms.FormInvalid) as invalid:
        forms.parse(form, posted, forms.defaults(form, APPLICATION, ROSTER, TODAY), ROSTER)
    return invalid.value.errors


@pytest.mark.parametrize(
    ("field", "sent", "error"),
    [
        ("kapasitas_terpasang_aktual", "inf", "Harus berupa angka biasa."),
        ("kapasitas_terpasang_aktual", "nan", "Harus berupa angka biasa."),
        ("kapasitas_terpasang_aktual", "1e400", "Paling besar 1.000.000.000.000."),
        ("kapasitas_terpasang_aktual", "1000000000000,5", "Paling besar 1.000.000.000.000."),
        ("kapasitas_terpasang_aktual", "0,0000001", "Paling banyak 6 angka di belakang koma."),
        ("kapasitas_terpasang_aktual", "-1", "Tidak boleh negatif."),
        ("tanggal_pemeriksaan", "2026-W49-2", "Tanggal tidak valid (format TTTT-BB-HH)."),
        ("tanggal_pemeriksaan", "20261201", "Tanggal tidak valid (format TTTT-BB-HH)."),
        ("tanggal_pemeriksaan", "2026-02-30", "Tanggal tidak valid (format TTTT-BB-HH)."),
    ],
)
def test_numbers_and_dates_outside_their_bounds_are_refused_by_the_field(
    field: str, sent: str, error: str
) -> None:
    assert errors_of(10, decision="done", **{field: sent}) == {field: error}


@pytest.mark.parametrize("sent", ["1.5", "1,5", "1e10", "Infinity"])
def test_workers_are_counted_in_whole_numbers(sent: str) -> None:
    assert set(errors_of(11, decision="done", tki_l=sent)) == {"tki_l"}
    assert parse(11, decision="done", tki_l="1.000", tka_p="2,0").values["tki_l"] == 1000


def test_investment_is_whole_rupiah() -> None:
    assert set(errors_of(11, decision="done", investasi="1.000,5")) == {"investasi"}
    assert parse(11, decision="done", investasi="1e15").values["investasi"] == 10**15


def test_text_is_normalized_and_keeps_newlines_only_where_it_is_multi_line() -> None:
    form = sop.UPLOAD_BY_HAND
    posted = {"decision": ["done"], "tanggal_unggah": ["2026-11-26"]}
    fields = {"nomor_tanda_terima": ["TT-1"], "bukti": ["baris satu\r\nbaris dua\rtiga"]}
    values = forms.parse(form, posted | fields, {}, ROSTER).values
    assert values["bukti"] == "baris satu\nbaris dua\ntiga"
    composed = {"nomor_tanda_terima": ["Cafe\u0301"]}
    values = forms.parse(form, posted | fields | composed, {}, ROSTER).values
    assert values["nomor_tanda_terima"] == "Caf\u00e9"  # NFC
    errors = errors_of(form, **posted, bukti="ok", nomor_tanda_terima="TT-1\nSubject: x")
    assert errors == {"nomor_tanda_terima": "Harus satu baris (tanpa ganti baris)."}


@pytest.mark.parametrize("sent", ["PT \u202eabc", "a\x00b", "a\x1bb", "\ufeffTT"])
def test_control_and_bidi_characters_are_refused_in_indonesian(sent: str) -> None:
    (error,) = errors_of(6, decision="done", disposisi=sent).values()
    assert error.startswith("Memuat karakter U+")


def test_a_field_or_a_decision_sent_twice_is_refused() -> None:
    assert errors_of(6, decision="done", disposisi=["a", "b"]) == {
        "disposisi": "Isian ini terkirim lebih dari sekali; kirim satu nilai saja."
    }
    assert set(errors_of(13, decision=["yes", "no"])) == {"decision"}


def test_the_kepala_dinas_is_not_told_the_file_goes_on_to_himself() -> None:
    from izin.tasks.complete import _next_text

    approved = _next_text(sop.step(14), parse(14, decision="yes"))
    assert "Kepala Dinas)" not in approved and "ditandatangani" in approved
    returned = _next_text(
        sop.step(4), parse(4, decision="done", kelengkapan="tidak_lengkap", catatan="AMDAL")
    )
    assert "OSS diberi status 11" in returned
    assert "langkah 05" in _next_text(sop.step(4), parse(4, decision="done"))
