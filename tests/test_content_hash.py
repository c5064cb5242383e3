"""One content hash (``ownership.file_sha256``) with one memo: a local batch reads its data file's bytes once
for the resume key and the read's cache key, and the memo never hides a rewrite."""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
import time

from hypothesis import given, settings
from hypothesis import strategies as st

import optimize
from optimize import ownership
from optimize.data.baci import SAMPLE_FILE
from optimize.resources import data_dir

_watch: dict[str, list[str]] = {}  # path -> modes it was opened with by Python code, while a test watches


def _audit(event: str, args: tuple) -> None:
    if _watch and event == "open" and isinstance(args[0], (str, os.PathLike)) and os.fspath(args[0]) in _watch:
        _watch[os.fspath(args[0])].append(str(args[1]))


sys.addaudithook(_audit)  # hooks cannot be removed: inert while _watch is empty


def test_a_local_batch_reads_the_data_bytes_once(tmp_path, monkeypatch):
    monkeypatch.setattr(ownership, "_SETTLED_NS", 0)  # a fresh copy counts as settled
    data = tmp_path / SAMPLE_FILE
    shutil.copyfile(data_dir() / SAMPLE_FILE, data)
    _watch[str(data)] = []
    try:
        optimize.batch_run(out_dir=tmp_path / "b", data=str(data), importers="DEU,FRA", caps_pp="1,2", workers=1)
        opened = list(_watch[str(data)])
    finally:
        _watch.clear()
    assert opened == ["r"], opened  # hashed for the resume key; the read's cache key found the memo


@settings(max_examples=15, deadline=None)
@given(st.binary(min_size=1, max_size=3000), st.data())
def test_the_memo_sees_a_same_size_rewrite_with_the_mtime_put_back(tmp_path_factory, blob, data):
    other = bytes(data.draw(st.lists(st.integers(0, 255), min_size=len(blob), max_size=len(blob))))
    f = tmp_path_factory.mktemp("h") / "x.bin"
    f.write_bytes(blob)
    old = ownership._SETTLED_NS
    ownership._SETTLED_NS = 0  # memoise at once (the default waits until the file is 2 s old)
    try:
        assert ownership.file_sha256(f) == hashlib.sha256(blob).hexdigest()  # oracle: hashlib on the bytes
        before = f.stat()
        time.sleep(0.02)  # file times tick coarsely (a few ms)
        f.write_bytes(other)
        os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert ownership.file_sha256(f) == hashlib.sha256(other).hexdigest()
        assert ownership.record_file(f) == {"bytes": len(other), "sha256": hashlib.sha256(other).hexdigest()}
    finally:
        ownership._SETTLED_NS = old


def test_a_fresh_file_is_hashed_each_time(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    _watch[str(f)] = []
    try:
        ownership.file_sha256(f)
        ownership.file_sha256(f)
        opened = list(_watch[str(f)])
    finally:
        _watch.clear()
    assert opened == ["r", "r"]  # open(path, "rb") is audited as mode "r"
