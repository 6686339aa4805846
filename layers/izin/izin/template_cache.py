"""Compiled templates kept beside the layer, as Python keeps its bytecode in __pycache__.

jinja2 compiles a template to Python the first time a process asks for it: a task page's
cold start spent about 90 ms of its CPU there, a document worker's 50 ms. With this cache,
the first process to compile a template writes its code to `izin/__jinjacache__/`, and every
later process (each Lambda worker, each test) loads it instead.

Never stale: jinja2 itself refuses code compiled from another source (the bucket's
checksum) or by another Python (its magic), and the key names everything else the code
depends on: the Python and jinja2 versions, the template's name, and the environment's
settings that the compiler reads (delimiters, whitespace control, autoescape for that name,
finalize, extensions, the filters and tests it knows and what each is handed). A damaged
file is compiled again; a folder that cannot be written (the layer on Lambda is read-only)
only means compiling in memory, as without a cache.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

FOLDER = Path(__file__).resolve().parent / "__jinjacache__"


class SourceCheckedCache(BytecodeCache):
    """jinja2's bytecode, one file per template and environment, in `folder`."""

    def __init__(self, folder: Path = FOLDER) -> None:
        self.folder = folder

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        bucket = Bucket(environment, _key(environment, name), self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            with open(self._path(bucket), "rb") as cached:
                bucket.load_bytecode(cached)  # jinja2 resets it if stale
        except OSError:
            return  # not compiled yet: jinja2 compiles it
        except (EOFError, ValueError, TypeError, pickle.UnpicklingError):
            bucket.reset()  # a damaged file (jinja2 lets a cut checksum through): compiled

    def dump_bytecode(self, bucket: Bucket) -> None:
        """Written whole or not at all: a reader never sees half a file."""
        path = self._path(bucket)
        try:
            self.folder.mkdir(exist_ok=True)
            with tempfile.NamedTemporaryFile(
                dir=self.folder, prefix=path.name, suffix=".tmp", delete=False
            ) as written:
                bucket.write_bytecode(written)
            os.replace(written.name, path)
        except OSError:
            return  # a read-only layer: the template was compiled in memory all the same

    def _path(self, bucket: Bucket) -> Path:
        return self.folder / f"{bucket.key}.cache"


def _key(environment: jinja2.Environment, name: str) -> str:
    """The template's name with every setting of `environment` its compiled code depends on."""
    autoescape: Any = environment.autoescape
    parts = (
        sys.implementation.cache_tag,  # jinja2 refuses another Python's code; no thrashing
        jinja2.__version__,
        name,
        environment.block_start_string,
        environment.block_end_string,
        environment.variable_start_string,
        environment.variable_end_string,
        environment.comment_start_string,
        environment.comment_end_string,
        environment.line_statement_prefix,
        environment.line_comment_prefix,
        environment.trim_blocks,
        environment.lstrip_blocks,
        environment.newline_sequence,
        environment.keep_trailing_newline,
        environment.optimized,
        environment.is_async,
        autoescape(name) if callable(autoescape) else autoescape,
        _passes(environment.finalize) if environment.finalize else None,
        sorted(environment.extensions),
        sorted((known, _passes(f)) for known, f in environment.filters.items()),
        sorted((known, _passes(f)) for known, f in environment.tests.items()),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()


def _passes(function: Any) -> str:
    """What jinja2 compiles into a call of `function`: whether it is handed the context,
    the evaluation context or the environment (`jinja2.pass_context` and its siblings)."""
    return str(getattr(function, "jinja_pass_arg", None))
