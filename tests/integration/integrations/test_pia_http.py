"""OSS PIA's receiveNIB (CONTRACT §5) through the local runtime's HTTP API: the template's
route, function, secret and queue; a push with PIA's token starts the SOP once."""

from __future__ import annotations

from izin.pia import Credentials
from izin_local import samples
from izin_local.config import pia_credentials
from izin_local.pia_client import post_receive_nib
from izin_local.scenario import application, wait_for_step
from izin_local.testing import System


def test_a_push_with_pias_token_starts_the_application_once(system: System) -> None:
    status, answer = post_receive_nib(
        system.runtime.http_url, samples.data_nib("PIA-HTTP-1"), credentials=pia_credentials()
    )
    assert (status, answer["responreceiveNIB"]["status"]) == (200, "1"), answer
    wait_for_step(system.endpoints, "PIA-HTTP-1", 2)
    assert application(system.endpoints, "PIA-HTTP-1")["data"] == samples.permohonan("PIA-HTTP-1")

    status, again = post_receive_nib(
        system.runtime.http_url, samples.data_nib("PIA-HTTP-1"), credentials=pia_credentials()
    )
    assert status == 200
    assert "Sudah diterima sebelumnya: PIA-HTTP-1." in again["responreceiveNIB"]["keterangan"]


def test_a_token_made_with_other_credentials_is_401_and_starts_nothing(system: System) -> None:
    status, answer = post_receive_nib(
        system.runtime.http_url,
        samples.data_nib("PIA-HTTP-2"),
        credentials=Credentials(pia_credentials().username, "bukan-kata-sandinya"),
    )
    assert status == 401
    assert answer == {"responreceiveNIB": {"status": "2", "keterangan": "User Akses Tidak Valid"}}
    assert application(system.endpoints, "PIA-HTTP-2") == {}
