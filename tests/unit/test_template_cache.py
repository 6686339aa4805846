"""Compiled templates kept beside the layer (izin.template_cache): a later process loads
what the first compiled, and never code that is not its template's as it stands now."""

from pathlib import Path
from typing import Any

import jinja2
import pytest
from izin import templating
from izin.documents import pdf
from izin.template_cache import SourceCheckedCache


def _environment(templates: Path, cache: SourceCheckedCache, **options: Any) -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates), bytecode_cache=cache, **options
    )


def _compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The templates jinja2 compiles from here on (its parser is where compiling starts)."""
    compiled: list[str] = []
    parse = jinja2.Environment._parse

    def counted(self: jinja2.Environment, source: str, name: str | None, filename: str | None):
        compiled.append(str(name))
        return parse(self, source, name, filename)

    monkeypatch.setattr(jinja2.Environment, "_parse", counted)
    return compiled


@pytest.fixture
def templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "salam.txt").write_text("{% if nama %}\n  Halo {{ nama }}\n{% endif %}\n")
    return folder


def test_a_later_environment_loads_the_code_instead_of_compiling(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cache = SourceCheckedCache(tmp_path / "cache")
    compiled = _compiles(monkeypatch)
    assert _environment(templates, cache).get_template("salam.txt").render(nama="Sri") == (
        "\n  Halo Sri\n"
    )
    assert compiled == ["salam.txt"]
    later = _environment(templates, SourceCheckedCache(tmp_path / "cache"))
    assert later.get_template("salam.txt").render(nama="Sri") == "\n  Halo Sri\n"
    assert compiled == ["salam.txt"]  # loaded, not compiled again
    assert len(list((tmp_path / "cache").glob("*.cache"))) == 1


def test_an_edited_template_is_compiled_again_never_served_stale(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cache = SourceCheckedCache(tmp_path / "cache")
    _environment(templates, cache).get_template("salam.txt").render(nama="Sri")
    (templates / "salam.txt").write_text("Selamat pagi {{ nama }}")
    compiled = _compiles(monkeypatch)
    fresh = _environment(templates, cache).get_template("salam.txt")
    assert fresh.render(nama="Sri") == "Selamat pagi Sri"
    assert compiled == ["salam.txt"]


def test_other_settings_never_take_the_others_code(
    templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    cache = SourceCheckedCache(tmp_path / "cache")
    plain = _environment(templates, cache)
    assert plain.get_template("salam.txt").render(nama="Sri") == "\n  Halo Sri\n"
    trimmed = _environment(templates, cache, trim_blocks=True, lstrip_blocks=True)
    assert trimmed.get_template("salam.txt").render(nama="Sri") == "  Halo Sri\n"
    escaped = _environment(templates, cache, autoescape=True)
    assert escaped.get_template("salam.txt").render(nama="<b>") == "\n  Halo &lt;b&gt;\n"
    assert plain.get_template("salam.txt").render(nama="<b>") == "\n  Halo <b>\n"


def test_a_filter_known_only_later_is_compiled_with_it(templates: Path, tmp_path: Path):
    (templates / "besar.txt").write_text("{{ nama | besar }}")
    cache = SourceCheckedCache(tmp_path / "cache")
    with pytest.raises(jinja2.TemplateAssertionError):
        _environment(templates, cache).get_template("besar.txt")
    knowing = _environment(templates, cache)
    knowing.filters["besar"] = str.upper
    assert knowing.get_template("besar.txt").render(nama="sri") == "SRI"
    handed_the_context = _environment(templates, cache)
    handed_the_context.filters["besar"] = jinja2.pass_context(lambda ctx, v: ctx["awal"] + v)
    assert handed_the_context.get_template("besar.txt").render(nama="sri", awal="Bu ") == ("Bu sri")


def test_a_damaged_cache_file_is_compiled_again(templates: Path, tmp_path: Path):
    cache = SourceCheckedCache(tmp_path / "cache")
    _environment(templates, cache).get_template("salam.txt")
    (written,) = (tmp_path / "cache").glob("*.cache")
    written.write_bytes(written.read_bytes()[:40])
    assert _environment(templates, cache).get_template("salam.txt").render(nama="Ana") == (
        "\n  Halo Ana\n"
    )


def test_a_folder_that_cannot_be_written_only_means_compiling_in_memory(
    templates: Path, tmp_path: Path
):
    (tmp_path / "read-only").write_text("a file where the folder would be")
    cache = SourceCheckedCache(tmp_path / "read-only" / "cache")
    assert _environment(templates, cache).get_template("salam.txt").render(nama="Ana") == (
        "\n  Halo Ana\n"
    )


def test_the_pages_emails_and_documents_use_the_layers_cache():
    pages = templating.environment()
    documents = pdf.environment()
    for environment in (pages, documents):
        assert isinstance(environment.bytecode_cache, SourceCheckedCache)
    assert pages.bytecode_cache.folder == documents.bytecode_cache.folder  # type: ignore[union-attr]
    assert pages.bytecode_cache.folder.name == "__jinjacache__"  # type: ignore[union-attr]
