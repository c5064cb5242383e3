"""Downloads with bounds (issue 22, items 9 and 10): deadline and stall timeout, a capped release page,
an oversize ``.part`` restarted, an unreadable existing zip refused, bad headers, URLs and cache folders
as one-line exit 2/5 errors. Every server runs on 127.0.0.1 inside its test and stops by itself."""
from __future__ import annotations

import time

import pytest
from click.testing import CliRunner

from optimize.data.fetch import FetchError, fetch_release
from optimize.data.releases import ReleaseListError, list_releases
from optimize.errors import EXIT_INPUT, EXIT_OUTPUT, DataError, InputError
from tests.localhttp import LocalHTTP
from tests.test_fetch import NAME, Server, make_zip

PAGE = b'<html><a href="/x/BACI_HS22_V202501.zip">zip</a></html>'


def _trickle(handler, outer, *, every_s=0.2, piece=1, for_s=8.0, length=1_000_000):
    """Headers for ``length`` bytes, then ``piece`` bytes every ``every_s`` seconds for at most ``for_s`` s."""
    handler.send_response(200)
    handler.send_header("Content-Length", str(length))
    handler.end_headers()
    t_end = time.monotonic() + for_s
    while time.monotonic() < t_end:
        handler.wfile.write(b"x" * piece)
        handler.wfile.flush()
        outer.sent += piece
        time.sleep(every_s)


def _one_line(res, code, *needles):
    assert res.exit_code == code, res.output
    assert res.output.startswith("Error: ") and res.output.count("\n") == 1 and "Fix:" in res.output, res.output
    for n in needles:
        assert n in res.output, res.output


# ------------------------------------------------------------------ deadline and stall
def test_a_trickling_server_is_abandoned_as_stalled(tmp_path):
    with LocalHTTP(_trickle) as srv:  # 1 byte every 0.2 s: never silent long enough for a socket timeout
        t0 = time.monotonic()
        with pytest.raises(FetchError, match="stalled"):
            fetch_release(base_url=srv.url, cache_dir=tmp_path, retries=1, stall_s=1.0, deadline_s=30)
        assert time.monotonic() - t0 < 6.0
    assert not (tmp_path / NAME).exists()


def test_a_silent_server_is_abandoned_within_the_stall_timeout(tmp_path):
    def silent(handler, outer):
        handler.send_response(200)
        handler.send_header("Content-Length", "1000")
        handler.end_headers()
        time.sleep(4)

    with LocalHTTP(silent) as srv:
        t0 = time.monotonic()
        with pytest.raises(FetchError):
            fetch_release(base_url=srv.url, cache_dir=tmp_path, retries=1, stall_s=0.5, deadline_s=30)
        assert time.monotonic() - t0 < 4.0


def test_the_deadline_ends_a_slow_but_steady_download_and_keeps_the_part(tmp_path):
    def steady(handler, outer):  # 64 KiB every 0.1 s: no stall, but 10 MB would take 16 s
        _trickle(handler, outer, every_s=0.1, piece=65536, for_s=8.0, length=10_000_000)

    with LocalHTTP(steady) as srv:
        t0 = time.monotonic()
        with pytest.raises(FetchError, match="deadline of 1.5 s"):
            fetch_release(base_url=srv.url, cache_dir=tmp_path, stall_s=1.0, deadline_s=1.5)
        assert time.monotonic() - t0 < 5.0
    assert (tmp_path / (NAME + ".part")).stat().st_size > 0  # kept: the next fetch resumes


@pytest.mark.parametrize("value", [0, -5, float("nan"), float("inf"), "soon"])
def test_bad_deadlines_are_input_errors(tmp_path, value):
    with pytest.raises(InputError, match="number of seconds"):
        fetch_release(base_url="http://127.0.0.1:9/baci", cache_dir=tmp_path, deadline_s=value)
    with pytest.raises(InputError, match="number of seconds"):
        fetch_release(base_url="http://127.0.0.1:9/baci", cache_dir=tmp_path, stall_s=value)


# ------------------------------------------------------------------ the release page
def test_release_page_is_read_up_to_a_size_limit():
    def endless(handler, outer):  # no Content-Length; streams up to 200 MB
        handler.send_response(200)
        handler.end_headers()
        block = PAGE + b" " * 65536
        while outer.sent < 200_000_000:
            handler.wfile.write(block)
            outer.sent += len(block)

    with LocalHTTP(endless) as srv:
        with pytest.raises(ReleaseListError, match="larger than 8 MB"):
            list_releases(srv.url + "/page.html")
        assert srv.sent < 50_000_000
        with pytest.raises(ReleaseListError, match="larger than 0.01 MB"):
            list_releases(srv.url + "/page.html", max_bytes=10_000)


def test_bogus_charset_and_trickling_page_are_exit_2_one_line(cli_main):
    def bogus(handler, outer):
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=no-such-charset")
        handler.send_header("Content-Length", str(len(PAGE)))
        handler.end_headers()
        handler.wfile.write(PAGE)

    with LocalHTTP(bogus) as srv:
        res = CliRunner().invoke(cli_main, ["data", "releases", "--page-url", srv.url + "/page.html"])
    _one_line(res, EXIT_INPUT, "no-such-charset")
    with LocalHTTP(_trickle) as srv:
        t0 = time.monotonic()
        with pytest.raises(ReleaseListError, match="stalled"):
            list_releases(srv.url + "/page.html", stall_s=1.0)
        assert time.monotonic() - t0 < 5.0


# ------------------------------------------------------------------ resume and existing files
def _ranges(data: bytes):
    """A server like a real one: 416 with ``Content-Range: bytes */N`` for a range past the end."""
    def respond(handler, outer):
        rng = handler.headers.get("Range")
        start = int(rng.split("=")[1].split("-")[0]) if rng else 0
        if start >= len(data):
            handler.send_response(416)
            handler.send_header("Content-Range", f"bytes */{len(data)}")
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        handler.send_response(206 if start else 200)
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.send_header("Content-Length", str(len(data) - start))
        handler.end_headers()
        handler.wfile.write(data[start:])
    return respond


def test_a_part_longer_than_the_file_is_discarded_and_the_download_restarts(tmp_path):
    data = make_zip(20_000)
    part = tmp_path / (NAME + ".part")
    part.write_bytes(data + b"stale tail from another file")
    with LocalHTTP(_ranges(data)) as srv:
        assert fetch_release(base_url=srv.url, cache_dir=tmp_path).read_bytes() == data
        assert not part.exists()
        (tmp_path / NAME).unlink()
        part.write_bytes(data)  # complete .part (killed before the rename): 416, kept and installed
        assert fetch_release(base_url=srv.url, cache_dir=tmp_path).read_bytes() == data


def test_an_existing_empty_zip_is_refused_not_saved(cli_main, tmp_path):
    (tmp_path / NAME).write_bytes(b"")
    with pytest.raises(DataError, match="not a readable zip"):
        fetch_release(base_url="http://127.0.0.1:9/baci", cache_dir=tmp_path)
    res = CliRunner().invoke(cli_main, ["data", "fetch", "--cache-dir", str(tmp_path), "--base-url",
                                        "http://127.0.0.1:9/baci"])
    _one_line(res, EXIT_INPUT, "not a readable zip", "delete it")
    assert "saved" not in res.output and (tmp_path / NAME).read_bytes() == b""  # never replaced


# ------------------------------------------------------------------ bad headers, URLs and folders
@pytest.mark.parametrize("headers", [{"Content-Length": "abc"}, {"Content-Length": "-5"}], ids=["text", "negative"])
def test_bad_content_length_is_exit_2_one_line(cli_main, tmp_path, headers):
    def respond(handler, outer):
        handler.send_response(200)
        for k, v in headers.items():
            handler.send_header(k, v)
        handler.end_headers()
        handler.wfile.write(b"PK")

    with LocalHTTP(respond) as srv:
        res = CliRunner().invoke(cli_main, ["data", "fetch", "--release", "202501", "--base-url", srv.url,
                                            "--cache-dir", str(tmp_path), "--quiet"])
    _one_line(res, EXIT_INPUT, "Content-Length")


@pytest.mark.parametrize("content_range", ["bytes garbage", "bytes 0-10/20", "bytes 5-x/20"])
def test_bad_content_range_is_exit_2_one_line(cli_main, tmp_path, content_range):
    def respond(handler, outer):
        handler.send_response(206)
        handler.send_header("Content-Range", content_range)
        handler.send_header("Content-Length", "5")
        handler.end_headers()
        handler.wfile.write(b"12345")

    (tmp_path / (NAME + ".part")).write_bytes(b"PK\x03\x04x")  # 5 bytes: the fetch asks from byte 5
    with LocalHTTP(respond) as srv:
        res = CliRunner().invoke(cli_main, ["data", "fetch", "--release", "202501", "--base-url", srv.url,
                                            "--cache-dir", str(tmp_path), "--quiet"])
    _one_line(res, EXIT_INPUT, "Content-Range")


@pytest.mark.parametrize("url", ["not-a-url", "ftp://host/x", "http://", "/local/path"])
def test_base_url_must_be_http(cli_main, tmp_path, url):
    res = CliRunner().invoke(cli_main, ["data", "fetch", "--release", "202501", "--base-url", url,
                                        "--cache-dir", str(tmp_path)])
    _one_line(res, EXIT_INPUT, "--base-url", "not an http(s) URL")
    res = CliRunner().invoke(cli_main, ["data", "releases", "--page-url", url])
    _one_line(res, EXIT_INPUT, "--page-url")


def test_cache_dir_on_a_file_is_exit_5_one_line(cli_main, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("mine")
    for target in (blocker, blocker / "sub"):
        res = CliRunner().invoke(cli_main, ["data", "fetch", "--release", "202501", "--base-url",
                                            "http://127.0.0.1:9/baci", "--cache-dir", str(target)])
        _one_line(res, EXIT_OUTPUT, "cache folder")
    assert blocker.read_text() == "mine"


def test_plain_download_still_works_with_small_limits(tmp_path):
    data = make_zip(50_000)
    with Server({NAME: data}) as srv:
        out = fetch_release(base_url=srv.url, cache_dir=tmp_path, stall_s=2, deadline_s=20)
    assert out.read_bytes() == data


def test_unreachable_release_page_fix_names_the_command_that_takes_release(cli_main):
    """`data releases` has no --release option: its fix must not tell the user to give one to it."""
    with LocalHTTP(lambda handler, outer: None) as srv:
        url = srv.url + "/page.html"
    res = CliRunner().invoke(cli_main, ["data", "releases", "--page-url", url])  # the server has stopped
    _one_line(res, EXIT_INPUT, "--page-url")
    assert "give --release" not in res.output and "data fetch --release" in res.output
