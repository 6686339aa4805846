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


def parse(step: int, **fields: str | list[str]) -> forms.Submission:
    form = sop.step(step)
    posted = {k: v if isinstance(v, list) else [v] for k, v in fields.items()}
    return forms.parse(form, posted, forms.defaults(form, APPLICATION, ROSTER, TODAY), ROSTER)


def test_fields_a_post_leaves_out_take_their_defaults() -> None:
    submission = parse(7, decision="done")
    team = ROSTER.holders(Role.TIM_TEKNIS)
    assert submission.values["ketua"] == team[0].nip
    assert submission.values["anggota"] == [o.nip for o in team[1:]]
    assert submission.values["tanggal_mulai"] == "2026-11-26"


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
