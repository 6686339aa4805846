"""The SOP "Izin Perluasan" as data: the one table that drives everything else.

Each of the 20 steps has its number, activity, actor, SLA, inputs, outputs, regulation note,
for an officer's step the form of its task page, and its `flow`: the states the state
machine runs for it (the officer's wait, documents, milestones to OSS, the awaited events,
the decisions and where their "no" goes back to). The state machine is generated from this
table (izin.workflow, scripts/build_asl.py); the emails, the task pages, the deadlines and
the documents read it too; nothing repeats it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """Who acts on a step: the roster's roles, and the outside parties."""

    PEMOHON = "pemohon"
    OSS = "oss"
    SIINAS = "siinas"
    OPERATOR = "operator"
    KASI = "kasi"
    KEPALA_BIDANG = "kepala_bidang"
    TIM_TEKNIS = "tim_teknis"
    KEPALA_DINAS = "kepala_dinas"
    # No SOP step's actor: who runs the console (/konsol) with the Kepala Bidang and
    # the Kepala Dinas. A roster may name one (a local roster may not).
    ADMIN = "admin"


ROLE_TITLES: dict[Role, str] = {
    Role.PEMOHON: "Pemohon",
    Role.OSS: "OSS",
    Role.SIINAS: "SIINAS",
    Role.OPERATOR: "Operator",
    Role.KASI: "Kasi",
    Role.KEPALA_BIDANG: "Kepala Bidang",
    Role.TIM_TEKNIS: "Tim Teknis",
    Role.KEPALA_DINAS: "Kepala Dinas",
    Role.ADMIN: "Admin",
}

# Who is copied when an officer lets a step's SLA pass.
SUPERVISOR: dict[Role, Role] = {
    Role.OPERATOR: Role.KASI,
    Role.TIM_TEKNIS: Role.KASI,
    Role.KASI: Role.KEPALA_BIDANG,
    Role.KEPALA_BIDANG: Role.KEPALA_DINAS,
}


class FieldKind(StrEnum):
    """How a form field is shown and parsed."""

    TEXT = "text"
    TEXTAREA = "textarea"
    NUMBER = "number"
    DATE = "date"
    CHOICE = "choice"
    OFFICER = "officer"  # one officer of a role, by NIP
    OFFICERS = "officers"  # several officers of a role, by NIP


class Amount(StrEnum):
    """What a NUMBER field holds, and so its bounds (izin.values)."""

    QUANTITY = "quantity"  # a measured amount: finite, 0 … 10^12, at most 6 decimals
    COUNT = "count"  # things counted (workers): a whole number, 0 … 10^9
    RUPIAH = "rupiah"  # money: whole rupiah


class Decision(StrEnum):
    """The values of a task page's submit buttons (CONTRACT §3)."""

    YES = "yes"
    NO = "no"
    DONE = "done"


@dataclass(frozen=True)
class FormField:
    """One field of a step's task page."""

    name: str
    label: str
    kind: FieldKind = FieldKind.TEXT
    required: bool = True
    default: str = ""
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    role: Role | None = None  # for OFFICER / OFFICERS
    hint: str = ""
    amount: Amount = Amount.QUANTITY  # for NUMBER


# -- what the state machine runs for a step, in order (statemachine/ is generated from it) --


@dataclass(frozen=True)
class Record:
    """An automatic step: the progress function records it on the application."""

    reads: tuple[tuple[str, str], ...] = ()  # (parameter, JSONPath in the state) handed over
    note: str = ""  # the audit trail's words for it, when the activity's meaning is not enough


@dataclass(frozen=True)
class AwaitEvent:
    """The step waits for an event of OSS or SIINAS; its fields land at `$.{result}`."""

    event: str  # "siinas:verifikasi.diajukan", a key of izin.events.EVENTS
    result: str


@dataclass(frozen=True)
class Ask:
    """An officer acts through a task link, the SLA's Tenggat first; the answer lands in the
    step's slot (`$.s05`)."""


@dataclass(frozen=True)
class Render:
    """A document is rendered, numbered and stored; its reference lands at `$.documents`.

    `reads`: the form values the document is made of, each a step (all its fields) or a
    (step, field). A document rendered again (after a send-back) gets a new version only
    when one of them changed, and its page shows which (izin.documents.versions); with no
    `reads`, every render is a version.
    """

    jenis: str
    label: str  # in the state's name, "05 Dokumen - {label}"
    reads: tuple[int | tuple[int, str], ...] = ()

    def fields(self) -> tuple[tuple[int, FormField], ...]:
        """The form fields named by `reads`, with their steps, in order."""
        return tuple(
            (number, f)
            for read in self.reads
            for number, name in [read if isinstance(read, tuple) else (read, "")]
            for f in step(number).fields
            if not name or f.name == name
        )


@dataclass(frozen=True)
class Seal:
    """The approved documents are sealed (izin.documents.SEALED_AT_APPROVAL)."""

    label: str = "Pengesahan"


@dataclass(frozen=True)
class Milestone:
    """A status is sent to OSS (receiveLicenseStatus, CONTRACT §2) through its queue."""

    milestone: str  # a key of izin.integrations.MILESTONES
    label: str
    then_step: int | None = None  # where the SOP goes on (a return); None: the next state


@dataclass(frozen=True)
class Tembusan:
    """The signed BAP's copy goes by email to DPMPTSP Kalbar."""

    activity: str
    comment: str


@dataclass(frozen=True)
class Upload:
    """The signed BAP is uploaded to SIINAS by the SIINAS worker (or by hand, its fallback)."""

    note: str


@dataclass(frozen=True)
class SendBack:
    """Where a "no" returns the file when it names what must change: to the step whose
    officer owns that content (the BAP's data: the Tim Teknis at 11)."""

    value: str  # the answer's `kembalikan_ke`
    label: str  # the choice as the form shows it
    step: int
    text: str  # what the deciding officer is told happens next


@dataclass(frozen=True)
class Branch:
    """A decision: on to `then` when `variable` equals `value`, else to `otherwise`.

    `otherwise` is a step's number (its first state: a send-back or a loop) or an ending;
    `then` is empty for the next state. A branch with a `name` is a state of its own beside
    the step's, else it is the step's state itself. `returns`: a "no" that names what must
    change (the answer's `kembalikan_ke`) goes to the step that owns it; a "no" that names
    nothing goes to `otherwise`.
    """

    variable: str
    value: str | bool
    otherwise: int | str
    then: str = ""
    name: str = ""
    note: str = ""
    # What the deciding officer is told happens next, and how the history words each answer.
    yes_text: str = ""
    no_text: str = ""
    said_yes: str = ""
    said_no: str = ""
    returns: tuple[SendBack, ...] = ()

    def sent_to(self, kembalikan_ke: object) -> SendBack | None:
        """The return a "no" names, or None (then the file goes to `otherwise`)."""
        return next((r for r in self.returns if r.value == kembalikan_ke), None)


Flow = Record | AwaitEvent | Ask | Render | Seal | Milestone | Tembusan | Upload | Branch


def slot(number: int) -> str:
    """Where an officer's answer to a step lands in the execution's state, "s05"."""
    return f"s{number:02d}"


def answered_yes(number: int) -> tuple[str, str]:
    """The JSONPath and value of a "yes" on this step's task page."""
    return f"$.{slot(number)}.decision", "yes"


@dataclass(frozen=True)
class Step:
    """One row of the SOP."""

    number: int
    actor: Role
    activity: str
    meaning: str
    inputs: str = ""
    outputs: str = ""
    regulation: str = ""
    sla_days: int | None = None  # hari kerja, from the SOP's "Waktu" column
    fields: tuple[FormField, ...] = ()
    decisions: tuple[Decision, ...] = ()  # empty: not an officer's step
    question: str = ""  # what the yes/no buttons answer
    yes_label: str = "Ya"
    no_label: str = "Tidak"
    done_label: str = "Selesai"
    no_needs_note: bool = True  # a "no" that sends the file back must say why
    documents: tuple[str, ...] = field(default=())  # document types shown for review
    evidence: str = ""  # what files the page takes (izin.evidence); "": none
    flow: tuple[Flow, ...] = ()  # what the state machine runs for this step, in order

    @property
    def code(self) -> str:
        """The two-digit step number, "05"."""
        return f"{self.number:02d}"

    @property
    def state_name(self) -> str:
        """The state's name in the state machine, "05 Operator - Membuat Surat Pengantar"."""
        return f"{self.code} {ROLE_TITLES[self.actor]} - {self.activity}"

    @property
    def is_task(self) -> bool:
        """Whether an officer acts on this step through a task link."""
        return bool(self.decisions)

    @property
    def asks(self) -> bool:
        """Whether the step is a yes/no decision."""
        return Decision.YES in self.decisions


CATATAN = FormField("catatan", "Catatan", FieldKind.TEXTAREA, required=False)
SENT_BACK_TEXT = "Berkas dikembalikan kepada Kasi (langkah 12) dengan catatan Anda."

# A "no" at 13 or 14 names what must change, and the file goes to whoever owns it. Left
# out of the POST (CONTRACT §3: `decision=no` and `catatan` alone), it is the Kasi's.
KEMBALIKAN_KE = "kembalikan_ke"
RETURNS = (
    SendBack(
        "surat_pengantar",
        "Surat Pengantar atau laporan (Kasi)",
        12,
        SENT_BACK_TEXT,
    ),
    SendBack(
        "bap",
        "Data BAP: angka, temuan, kesimpulan (Tim Teknis)",
        11,
        "Berkas dikembalikan kepada Tim Teknis (langkah 11) untuk memperbaiki data BAP, "
        "dengan catatan Anda; sesudah itu Kasi (langkah 12) dan Kepala Bidang (langkah 13) "
        "memeriksanya lagi.",
    ),
)


def _bap_decision(number: int, name: str, by: str, *, yes_text: str = "") -> Branch:
    """The yes or no of a step that checks the BAP and the Surat Pengantar (13, 14): a "no"
    returns the file to whoever owns what must change (RETURNS), else to the Kasi at 12,
    with the note of the officer `by`."""
    return Branch(
        *answered_yes(number),
        otherwise=12,
        name=name,
        note="TIDAK: data BAP kembali ke Tim Teknis (langkah 11), Surat Pengantar "
        f"kembali ke Kasi (langkah 12), dengan catatan {by}.",
        yes_text=yes_text,
        no_text=SENT_BACK_TEXT,
        returns=RETURNS,
    )


RETURN_FIELD = FormField(
    KEMBALIKAN_KE,
    "Bila dikembalikan: yang harus diperbaiki",
    FieldKind.CHOICE,
    default=RETURNS[0].value,
    choices=tuple((r.value, r.label) for r in RETURNS),
)

STEPS: tuple[Step, ...] = (
    Step(
        1,
        Role.PEMOHON,
        "Mengajukan Izin Perluasan",
        "Pemohon mengajukan Izin Perluasan melalui OSS.",
        inputs="Akun OSS",
        outputs="Izin Perluasan Belum Efektif",
        flow=(Record(note="permohonan diajukan melalui OSS; Izin Perluasan belum efektif"),),
    ),
    Step(
        2,
        Role.PEMOHON,
        "Mengajukan Verifikasi Teknis",
        "Pemohon mengajukan verifikasi teknis melalui SIINAS.",
        inputs="Izin Perluasan Belum Efektif",
        outputs="Akun SIINAS",
        flow=(AwaitEvent("siinas:verifikasi.diajukan", "verifikasi"),),
    ),
    Step(
        3,
        Role.SIINAS,
        "Memenuhi Komitmen Data Industri",
        "Pemohon memenuhi komitmen data industri; SIINAS menotifikasi Dinas Teknis.",
        inputs="Akun SIINAS",
        outputs="Notifikasi SIINAS ke Akun SIINAS Dinas Teknis",
        regulation="Peraturan Menteri Perindustrian No 30 Tahun 2019",
        flow=(
            Branch(
                "$.verifikasi.komitmen_data_industri",
                True,
                otherwise=2,
                note="TIDAK: menunggu SIINAS lagi.",
            ),
        ),
    ),
    Step(
        4,
        Role.OPERATOR,
        "Menerima Notifikasi Verifikasi Teknis",
        "Menerima notifikasi permohonan verifikasi teknis dan memeriksa kelengkapan data "
        "pemohon melalui SIINAS.",
        inputs="Berkas Pemohon",
        outputs="Berkas Pemohon",
        fields=(
            FormField(
                "kelengkapan",
                "Kelengkapan berkas",
                FieldKind.CHOICE,
                default="lengkap",
                choices=(("lengkap", "Lengkap"), ("tidak_lengkap", "Belum lengkap")),
                hint="Belum lengkap: berkas kembali ke pemohon (OSS status 11) dengan catatan "
                "Anda tentang apa yang kurang; SIINAS mengirim verifikasi baru setelah dilengkapi.",
            ),
            CATATAN,
        ),
        decisions=(Decision.DONE,),
        done_label="Notifikasi diterima",
        flow=(
            Ask(),
            Branch(
                "$.s04.kelengkapan",
                "tidak_lengkap",
                otherwise=5,
                name="Berkas Belum Lengkap?",
                note="Belum lengkap: kembali ke pemohon (OSS status 11), menunggu verifikasi "
                "baru dari SIINAS (langkah 2); lengkap: Surat Pengantar (langkah 5).",
                yes_text="Berkas dikembalikan kepada pemohon: OSS diberi status 11 (dokumen "
                "belum lengkap) dengan catatan Anda; permohonan menunggu verifikasi baru dari "
                "SIINAS (langkah 2).",
            ),
            Milestone("dokumen_belum_lengkap", "Dokumen Belum Lengkap", then_step=2),
        ),
    ),
    Step(
        5,
        Role.OPERATOR,
        "Membuat Surat Pengantar",
        "Membuat Surat Pengantar kepada Kepala Bidang untuk penugasan pelaksanaan "
        "verifikasi teknis.",
        inputs="Berkas Pemohon",
        outputs="Berkas Pemohon",
        sla_days=1,
        fields=(CATATAN,),
        decisions=(Decision.DONE,),
        done_label="Surat Pengantar diperiksa, kirim ke Kepala Bidang",
        documents=("surat_pengantar_kabid",),
        flow=(Render("surat_pengantar_kabid", "Surat Pengantar Kepala Bidang"), Ask()),
    ),
    Step(
        6,
        Role.KEPALA_BIDANG,
        "Disposisi Berkas kepada Kasi",
        "Disposisi berkas kepada Kasi Kerjasama, Pengawasan, dan Promosi Investasi Industri.",
        inputs="Surat Tugas dan Nota Dinas",
        outputs="Surat Tugas dan Nota Dinas",
        fields=(
            FormField(
                "disposisi",
                "Isi disposisi",
                FieldKind.TEXTAREA,
                default="Mohon ditindaklanjuti dengan penugasan Tim Teknis.",
            ),
        ),
        decisions=(Decision.DONE,),
        done_label="Disposisikan kepada Kasi",
        documents=("surat_pengantar_kabid",),
        flow=(Ask(), Render("nota_dinas", "Nota Dinas")),
    ),
    Step(
        7,
        Role.KASI,
        "Penugasan Tim Teknis",
        "Menugaskan Tim Teknis melaksanakan verifikasi teknis.",
        inputs="Surat Tugas dan Berkas Pemohon",
        outputs="Surat Tugas dan Berkas Pemohon",
        fields=(
            FormField("ketua", "Ketua Tim Teknis", FieldKind.OFFICER, role=Role.TIM_TEKNIS),
            FormField(
                "anggota",
                "Anggota Tim Teknis",
                FieldKind.OFFICERS,
                role=Role.TIM_TEKNIS,
                hint="Paling sedikit satu anggota selain ketua.",
            ),
            FormField("tanggal_mulai", "Tanggal mulai tugas", FieldKind.DATE),
            FormField("tanggal_selesai", "Tanggal selesai tugas", FieldKind.DATE),
        ),
        decisions=(Decision.DONE,),
        done_label="Tugaskan Tim Teknis",
        documents=("nota_dinas",),
        flow=(Ask(), Render("surat_tugas", "Surat Tugas")),
    ),
    Step(
        8,
        Role.TIM_TEKNIS,
        "Verifikasi Dokumen",
        "Pelaksanaan verifikasi teknis melalui pemeriksaan dokumen.",
        inputs="Surat Tugas dan Berkas Pemohon",
        outputs="Surat Tugas dan Berkas Pemohon",
        regulation="Peraturan Menteri Perindustrian No 30 Tahun 2019",
        sla_days=1,
        fields=(
            FormField(
                "hasil_verifikasi",
                "Hasil pemeriksaan dokumen",
                FieldKind.TEXTAREA,
                default="Dokumen permohonan sesuai dengan persyaratan.",
            ),
            FormField("catatan", "Catatan", FieldKind.TEXTAREA, required=False),
        ),
        decisions=(Decision.YES, Decision.NO),
        no_needs_note=False,  # "no field inspection" is an answer, not a send-back
        question="Diperlukan pemeriksaan lapangan?",
        yes_label="Ya, perlu pemeriksaan lapangan",
        no_label="Tidak, langsung ke BAP",
        documents=("surat_tugas",),
        flow=(Ask(),),
    ),
    Step(
        9,
        Role.TIM_TEKNIS,
        "Diperlukan Pemeriksaan Lapangan?",
        "Keputusan apakah diperlukan pemeriksaan lapangan (ditanyakan pada halaman langkah 8).",
        inputs="Surat Tugas dan Berkas Pemohon",
        outputs="Surat Tugas dan Berkas Pemohon",
        flow=(
            Branch(
                *answered_yes(8),
                otherwise=11,
                yes_text="Dilanjutkan dengan pemeriksaan lapangan (langkah 10).",
                no_text="Dilanjutkan dengan pembuatan BAP (langkah 11).",
                said_yes="perlu pemeriksaan lapangan",
                said_no="tanpa pemeriksaan lapangan",
            ),
        ),
    ),
    Step(
        10,
        Role.TIM_TEKNIS,
        "Pemeriksaan Lapangan",
        "Pelaksanaan pemeriksaan lapangan dengan Form Pemeriksaan Lapangan.",
        inputs="Surat Tugas dan Berkas Pemohon, Form Pemeriksaan Lapangan",
        outputs="Surat Tugas dan Berkas Pemohon, Hasil Pemeriksaan",
        regulation="Pasal 29",
        fields=(
            FormField("tanggal_pemeriksaan", "Tanggal pemeriksaan", FieldKind.DATE),
            FormField(
                "kesesuaian_lokasi",
                "Lokasi pabrik sesuai dengan permohonan",
                FieldKind.CHOICE,
                default="sesuai",
                choices=(("sesuai", "Sesuai"), ("tidak_sesuai", "Tidak sesuai")),
            ),
            FormField(
                "kapasitas_terpasang_aktual",
                "Kapasitas terpasang yang ditemukan",
                FieldKind.NUMBER,
                required=False,
            ),
            FormField(
                "kondisi_mesin",
                "Kondisi mesin dan peralatan",
                FieldKind.TEXTAREA,
                hint="Yang dilihat: mesin apa, terpasang atau belum, berfungsi atau tidak.",
            ),
            FormField(
                "temuan",
                "Temuan pemeriksaan lapangan",
                FieldKind.TEXTAREA,
                hint="Tulis \u201cTidak ada temuan.\u201d bila memang tidak ada.",
            ),
        ),
        decisions=(Decision.DONE,),
        done_label="Simpan hasil pemeriksaan",
        documents=("surat_tugas",),
        evidence="Foto lapangan dan pindaian dokumen yang diperiksa di lokasi",
        flow=(
            Milestone("inspeksi", "Status Inspeksi Lapangan"),
            Ask(),
            Render("form_pemeriksaan_lapangan", "Form Pemeriksaan Lapangan"),
        ),
    ),
    Step(
        11,
        Role.TIM_TEKNIS,
        "Pembuatan Berita Acara Pemeriksaan",
        "Pembuatan Berita Acara Pemeriksaan (BAP) dengan kesimpulan siap atau belum siap.",
        inputs="Hasil Pemeriksaan",
        outputs="Berita Acara Pemeriksaan",
        regulation="Peraturan Menteri Perindustrian No 30 Tahun 2019 Lampiran III",
        sla_days=2,
        fields=(
            FormField(
                "kapasitas_sebelum", "Kapasitas sebelum perluasan", FieldKind.NUMBER, required=False
            ),
            FormField(
                "kapasitas_penambahan", "Penambahan kapasitas", FieldKind.NUMBER, required=False
            ),
            FormField(
                "kapasitas_sesudah", "Kapasitas sesudah perluasan", FieldKind.NUMBER, required=False
            ),
            FormField(
                "investasi",
                "Nilai investasi (Rp)",
                FieldKind.NUMBER,
                required=False,
                amount=Amount.RUPIAH,
            ),
            *(
                FormField(
                    name,
                    label,
                    FieldKind.NUMBER,
                    amount=Amount.COUNT,
                    hint="Jumlah orang menurut pemeriksaan; isi 0 bila tidak ada.",
                )
                for name, label in (
                    ("tki_l", "Tenaga kerja Indonesia laki-laki"),
                    ("tki_p", "Tenaga kerja Indonesia perempuan"),
                    ("tka_l", "Tenaga kerja asing laki-laki"),
                    ("tka_p", "Tenaga kerja asing perempuan"),
                )
            ),
            FormField(
                "mesin",
                "Mesin dan peralatan (satu per baris: nama, jumlah, kapasitas)",
                FieldKind.TEXTAREA,
                required=False,
            ),
            # The BAP's signatures (izin.documents.context): a member who decided a step of
            # this file in the system (08, 10, this one) signed electronically by it; the
            # others sign on paper, ticked here, with the signed page uploaded.
            FormField(
                "ttd_tim",
                "Anggota Tim Teknis yang menandatangani BAP di atas kertas",
                FieldKind.OFFICERS,
                role=Role.TIM_TEKNIS,
                required=False,
                hint="Anggota yang memutuskan langkah 08, 10 atau 11 di sistem menandatangani "
                "secara elektronik dengan keputusannya. Anggota lain: centang bila telah "
                "menandatangani di atas kertas, lalu unggah halaman yang ditandatangani "
                "(bagian Lampiran).",
            ),
            FormField(
                "wakil_perusahaan",
                "Nama wakil perusahaan yang menandatangani BAP",
                hint="Sebagaimana tertulis di bawah tanda tangannya.",
            ),
            FormField(
                "jabatan_wakil_perusahaan",
                "Jabatan wakil perusahaan",
                required=False,
            ),
            FormField(
                "kesimpulan",
                "Kesimpulan",
                FieldKind.CHOICE,
                default="siap",
                choices=(("siap", "Siap"), ("belum_siap", "Belum siap")),
            ),
            CATATAN,
        ),
        decisions=(Decision.DONE,),
        done_label="Buat BAP",
        evidence="Halaman yang ditandatangani di atas kertas (tim dan wakil perusahaan), "
        "foto atau pindaian lain",
        flow=(Ask(), Render("bap", "Berita Acara Pemeriksaan", reads=(8, 10, 11))),
    ),
    Step(
        12,
        Role.KASI,
        "Laporan dan Surat Pengantar Tembusan BAP",
        "Melaporkan hasil verifikasi teknis dan membuat Surat Pengantar tembusan BAP ke "
        "DPMPTSP Kalbar untuk ditandatangani oleh Kepala Dinas.",
        inputs="Berita Acara Pemeriksaan, Surat Pengantar ke DPMPTSP",
        outputs="Berita Acara Pemeriksaan, Surat Pengantar ke DPMPTSP",
        fields=(
            FormField(
                "laporan",
                "Laporan hasil verifikasi teknis",
                FieldKind.TEXTAREA,
                default="Verifikasi teknis telah dilaksanakan; BAP terlampir.",
                hint="Untuk Kepala Bidang dan Kepala Dinas: tampil di atas halaman keputusan "
                "mereka.",
            ),
            FormField(
                "keterangan_pengantar",
                "Keterangan pada Surat Pengantar",
                FieldKind.TEXTAREA,
                default="Disampaikan sebagai tembusan untuk diketahui.",
                hint="Kolom Keterangan Surat Pengantar kepada DPMPTSP, di bawah kesimpulan BAP.",
            ),
        ),
        decisions=(Decision.DONE,),
        done_label="Buat Surat Pengantar, laporkan kepada Kepala Bidang",
        documents=("bap", "surat_pengantar_dpmptsp"),
        # The Kasi writes first, then the letter is made from it: a return to the Kasi
        # changes the letter, and the Kepala Bidang reads it at 13.
        flow=(
            Ask(),
            Render(
                "surat_pengantar_dpmptsp",
                "Surat Pengantar DPMPTSP",
                reads=((11, "kesimpulan"), 12),
            ),
        ),
    ),
    Step(
        13,
        Role.KEPALA_BIDANG,
        "Memeriksa Kelengkapan",
        "Memeriksa kelengkapan hasil verifikasi teknis dan Surat Pengantar tembusan BAP.",
        inputs="Berkas BAP dan Surat Pengantar",
        outputs="Berkas BAP dan Surat Pengantar",
        fields=(CATATAN, RETURN_FIELD),
        decisions=(Decision.YES, Decision.NO),
        question="Apakah hasil verifikasi teknis dan Surat Pengantar sudah lengkap?",
        yes_label="Lengkap, teruskan ke Kepala Dinas",
        no_label="Belum lengkap, kembalikan",
        documents=("bap", "surat_pengantar_dpmptsp"),
        flow=(
            Ask(),
            _bap_decision(13, "Lengkap?", "Kepala Bidang"),
        ),
    ),
    Step(
        14,
        Role.KEPALA_DINAS,
        "Persetujuan dan Penandatanganan",
        "Membuat persetujuan dan menandatangani Surat Pengantar tembusan hasil BAP.",
        inputs="Berkas BAP dan Surat Pengantar",
        outputs="Berkas BAP dan Surat Pengantar",
        sla_days=1,
        fields=(CATATAN, RETURN_FIELD),
        decisions=(Decision.YES, Decision.NO),
        question="Setujui dan tandatangani BAP dan Surat Pengantar?",
        yes_label="Setujui dan tandatangani",
        no_label="Kembalikan untuk diperbaiki",
        documents=("bap", "surat_pengantar_dpmptsp"),
        flow=(
            Ask(),
            _bap_decision(
                14,
                "Disetujui?",
                "Kepala Dinas",
                yes_text="Disetujui: BAP dan Surat Pengantar ditandatangani secara elektronik "
                "(langkah 15 dan 16 tercatat bersama persetujuan ini); OSS diberi tahu, "
                "tembusan ke DPMPTSP dan unggah BAP ke SIINAS berjalan otomatis.",
            ),
            Seal(),
            Milestone("bap_disetujui", "Status Persetujuan BAP"),
        ),
    ),
    Step(
        15,
        Role.KEPALA_DINAS,
        "Memerintahkan Unggah BAP dan Tembusan",
        "Memerintahkan untuk mengunggah BAP melalui SIINAS dan mengirim tembusan BAP ke "
        "DPMPTSP Kalbar (diberikan bersama persetujuan langkah 14).",
        inputs="Berkas BAP dan Surat Pengantar",
        outputs="Berkas BAP dan Surat Pengantar",
        flow=(
            Record(
                note="perintah unggah BAP ke SIINAS dan tembusan ke DPMPTSP Kalbar "
                "(bersama persetujuan langkah 14)"
            ),
        ),
    ),
    Step(
        16,
        Role.KASI,
        "Penugasan Unggah BAP",
        "Penugasan unggah BAP melalui SIINAS dan pengiriman tembusan ke DPMPTSP kepada Operator.",
        inputs="Berkas BAP dan Surat Pengantar",
        outputs="Berkas BAP dan Surat Pengantar",
        flow=(Record(note="unggah BAP dan tembusan ditugaskan kepada Operator"),),
    ),
    Step(
        17,
        Role.OPERATOR,
        "Unggah BAP melalui SIINAS",
        "Mengunggah BAP melalui SIINAS dan mengirim tembusan ke DPMPTSP Kalbar.",
        inputs="BAP",
        outputs="BAP di SIINAS dan tembusan ke DPMPTSP Kalbar",
        flow=(
            Tembusan(
                "Tembusan BAP ke DPMPTSP Kalbar",
                "Tembusan BAP yang telah ditandatangani ke DPMPTSP Kalbar melalui email.",
            ),
            Upload("Bila SIINAS tidak tersedia: tugas unggah manual Operator."),
        ),
    ),
    Step(
        18,
        Role.SIINAS,
        "Berita Acara Pemenuhan Komitmen",
        "SIINAS mengirim Berita Acara Pemenuhan Komitmen Verifikasi Teknis.",
        inputs="BAP",
        outputs="BAP",
        flow=(AwaitEvent("siinas:komitmen.terpenuhi", "komitmen"),),
    ),
    Step(
        19,
        Role.SIINAS,
        "Menotifikasi OSS",
        "SIINAS menotifikasi OSS untuk memverifikasi hasil pemenuhan seluruh komitmen.",
        inputs="Notifikasi SIINAS",
        outputs="Izin Perluasan",
        regulation="Jika seluruh komitmen telah terpenuhi, IP berlaku efektif",
        flow=(AwaitEvent("oss:izin.status", "izin_status"),),
    ),
    Step(
        20,
        Role.OSS,
        "Menotifikasi Pemohon",
        "OSS menotifikasi pemohon hasil pengajuan izin usaha industri.",
        inputs="Izin Perluasan",
        outputs="Izin Perluasan",
        regulation="Jika hasil verifikasi teknis menyatakan belum siap, IP masih belum berlaku "
        "efektif",
        flow=(
            Record(reads=(("status", "$.izin_status.status"),)),
            Branch(
                "$.izin_status.status",
                "efektif",
                then="IP Berlaku Efektif",
                otherwise="IP Belum Efektif",
                name="IP Berlaku Efektif?",
                note="Hasil dari OSS: efektif bila seluruh komitmen terpenuhi.",
            ),
        ),
    ),
)

# How an application ends: the state machine's Succeed states, with what each means.
ENDINGS: dict[str, str] = {
    "IP Berlaku Efektif": "Izin Perluasan berlaku efektif.",
    "IP Belum Efektif": "Izin Perluasan masih belum berlaku efektif; perluasan belum boleh "
    "dilakukan.",
}

BY_NUMBER: dict[int, Step] = {s.number: s for s in STEPS}
STEP_NUMBERS: tuple[int, ...] = tuple(BY_NUMBER)


def step(number: int) -> Step:
    """The SOP step with this number; KeyError names an unknown one."""
    try:
        return BY_NUMBER[number]
    except KeyError:
        raise KeyError(f"SOP Izin Perluasan has no step {number}") from None


def step_of_field(name: str) -> Step:
    """The one SOP step whose task page asks for this field: "ketua" is chosen at step 7."""
    found = [s for s in STEPS if any(f.name == name for f in s.fields)]
    if len(found) != 1:
        raise KeyError(f"{len(found)} SOP steps ask for {name!r}, not one")
    return found[0]


def branch_on(number: int) -> Branch | None:
    """The decision taken on this step's answer (step 8's is step 9's; step 4's is on its
    field `kelengkapan`), if any."""
    answer = f"$.{slot(number)}."
    return next(
        (
            f
            for s in STEPS
            for f in s.flow
            if isinstance(f, Branch) and f.variable.startswith(answer)
        ),
        None,
    )


def _returns_of(check: Step) -> tuple[int, ...]:
    """The steps a check's "no" may send the file back to (its own and later excluded)."""
    targets = [
        target
        for f in check.flow
        if isinstance(f, Branch)
        for target in (f.otherwise, *(r.step for r in f.returns))
        if isinstance(target, int) and target < check.number
    ]
    return tuple(targets)


def sent_back_by(number: int) -> tuple[Step, ...]:
    """The checks whose "no" sends the file back to this step, or back through it on the way
    to the check again (12: the checks of 13 and 14, whether to the Kasi or to the Tim
    Teknis; 11: the same checks, when they name the BAP's data)."""
    return tuple(
        s for s in STEPS if s.is_task and any(t <= number < s.number for t in _returns_of(s))
    )


def reopened_by_send_back(number: int) -> bool:
    """Whether a send-back asks this officer's form again, to be corrected: it then opens
    with the earlier answers (the checks themselves, 13 on a return from 14, decide anew)."""
    this = step(number)
    return this.is_task and not this.asks and bool(sent_back_by(number))


def rendered_at(jenis: str) -> Step:
    """The step whose flow renders this document."""
    (found,) = [s for s in STEPS for f in s.flow if isinstance(f, Render) and f.jenis == jenis]
    return found


def record_note(step: Step) -> str:
    """What the audit trail says of an automatic step."""
    notes = [f.note for f in step.flow if isinstance(f, Record) and f.note]
    return notes[0] if notes else step.meaning


# -- tasks beside the SOP's own steps -------------------------------------------------------

BUKTI = FormField(
    "bukti",
    "Bukti (tautan tangkapan layar, nomor atau keterangan dokumen)",
    FieldKind.TEXTAREA,
    hint="Disimpan sebagai data elektronik bersama keputusan ini.",
)


def steps_with(kind: type[Flow]) -> tuple[Step, ...]:
    """The steps whose flow runs a state of this kind (Upload, Record, Ask, …)."""
    return tuple(s for s in STEPS if any(isinstance(f, kind) for f in s.flow))


def step_with(kind: type[Flow]) -> Step:
    """The one step whose flow runs a state of this kind; ValueError when not exactly one."""
    (found,) = steps_with(kind) or (None,)
    if found is None:
        raise ValueError(f"no step runs {kind.__name__}")
    return found


# The manual fallbacks (CONTRACT §2): what an officer does when OSS or SIINAS cannot.
_UPLOAD = step_with(Upload)
UPLOAD_BY_HAND = Step(
    _UPLOAD.number,
    Role.OPERATOR,
    "Unggah BAP Manual melalui SIINAS",
    "SIINAS tidak dapat dihubungi otomatis: unggah BAP yang telah ditandatangani melalui "
    "SIINAS secara manual, lalu catat tanda terimanya.",
    inputs="BAP",
    outputs="BAP di SIINAS",
    fields=(
        FormField("nomor_tanda_terima", "Nomor tanda terima unggah SIINAS"),
        FormField("tanggal_unggah", "Tanggal unggah", FieldKind.DATE),
        BUKTI,
    ),
    decisions=(Decision.DONE,),
    done_label="BAP sudah diunggah di SIINAS",
    evidence="Tanda terima unggah SIINAS (tangkapan layar atau PDF)",
)


@dataclass(frozen=True)
class RecordForm:
    """The Operator's form that records an event of OSS or SIINAS by hand, with evidence."""

    activity: str
    meaning: str
    fields: tuple[FormField, ...]
    done_label: str


def record_task(number: int, form: RecordForm) -> Step:
    """The task page that records an event by hand, as the step the event belongs to."""
    return Step(
        number,
        Role.OPERATOR,
        form.activity,
        form.meaning,
        fields=(*form.fields, BUKTI),
        decisions=(Decision.DONE,),
        done_label=form.done_label,
        evidence="Bukti (tangkapan layar atau pindaian dokumen)",
    )


def reassign_form(task: Step) -> Step:
    """The form that moves an open task of `task` to another officer of the same role."""
    return Step(
        task.number,
        task.actor,
        f"Alihkan Tugas: {task.activity}",
        f"Pindahkan tugas langkah {task.code} kepada petugas lain dengan peran "
        f"{ROLE_TITLES[task.actor]}. Tautan lama tidak berlaku lagi.",
        fields=(
            FormField(
                "petugas",
                f"{ROLE_TITLES[task.actor]} yang menerima tugas",
                FieldKind.OFFICER,
                role=task.actor,
            ),
            FormField("alasan", "Alasan pengalihan", FieldKind.TEXTAREA, required=False),
        ),
        decisions=(Decision.DONE,),
        done_label="Alihkan tugas",
    )
