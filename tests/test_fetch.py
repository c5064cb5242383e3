"""fetch_release against a local HTTP server on 127.0.0.1 with Range support and one dropped connection."""
from __future__ import annotations

import io
import zipfile

import pytest

from optimize.data.fetch import FetchError, fetch_release, release_filename
from optimize.errors import DataError, InputError, OutputError
from tests.localhttp import LocalHTTP


def make_zip(n_bytes=200_000) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("BACI_HS22_Y2023_V202501.csv", "t,i,j,k,v,q\n" + "2023,4,56,010121,1.0,1.0\n" * (n_bytes // 26))
    return buf.getvalue()


class Server(LocalHTTP):
    """Serves ``files`` by name with Range support; ``drop_first`` cuts the first full response half way."""

    def __init__(self, files: dict[str, bytes], drop_first=False, ignore_range=False):
        self.files, self.drop_first, self.ignore_range = files, drop_first, ignore_range
        self.requests: list[str | None] = []
        super().__init__(self._respond)

    def _respond(self, handler, _server):
        name = handler.path.rsplit("/", 1)[-1]
        rng = handler.headers.get("Range")
        self.requests.append(rng)
        if name not in self.files:
            handler.send_error(404)
            return
        data = self.files[name]
        start = int(rng.split("=")[1].split("-")[0]) if rng and not self.ignore_range else 0
        body = data[start:]
        handler.send_response(206 if start else 200)
        if start:
            handler.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if self.drop_first:
            self.drop_first = False
            handler.wfile.write(body[: len(body) // 2])
            handler.wfile.flush()
            handler.close_connection = True
            return
        handler.wfile.write(body)


NAME = "BACI_HS22_V202501.zip"


def test_plain_download(tmp_path):
    data = make_zip()
    with Server({NAME: data}) as srv:
        out = fetch_release("HS22", "202501", base_url=srv.url, cache_dir=tmp_path)
        assert out.name == NAME and out.read_bytes() == data
        assert not list(tmp_path.glob("*.part"))
        again = fetch_release("hs22", "V202501", base_url=srv.url, cache_dir=tmp_path)
        assert again == out and len(srv.requests) == 1  # cached: no second download


def test_resume_after_drop(tmp_path):
    data = make_zip()
    with Server({NAME: data}, drop_first=True) as srv:
        out = fetch_release(base_url=srv.url, cache_dir=tmp_path, retries=2)
    assert out.read_bytes() == data
    assert srv.requests[0] is None and srv.requests[1] == f"bytes={len(data) // 2}-"


def test_existing_part_resumed_and_range_ignored(tmp_path):
    data = make_zip()
    (tmp_path / (NAME + ".part")).write_bytes(data[:1000])
    with Server({NAME: data}) as srv:
        assert fetch_release(base_url=srv.url, cache_dir=tmp_path).read_bytes() == data
        assert srv.requests == ["bytes=1000-"]
    (tmp_path / NAME).unlink()
    (tmp_path / (NAME + ".part")).write_bytes(data[:1000])
    with Server({NAME: data}, ignore_range=True) as srv:  # server answers 200 with the whole file
        assert fetch_release(base_url=srv.url, cache_dir=tmp_path).read_bytes() == data


def test_corrupt_zip_not_installed(tmp_path):
    with Server({NAME: b"this is not a zip" * 100}) as srv:
        with pytest.raises(DataError, match="zip"):
            fetch_release(base_url=srv.url, cache_dir=tmp_path)
    assert not (tmp_path / NAME).exists() and not list(tmp_path.glob("*.part"))


def test_404_and_persistent_drop(tmp_path):
    with Server({}) as srv:
        with pytest.raises(FetchError, match="404"):
            fetch_release(base_url=srv.url, cache_dir=tmp_path)
    data = make_zip()
    srv = Server({NAME: data})
    with srv:
        srv.drop_first = True
        with pytest.raises(FetchError, match="incomplete"):
            fetch_release(base_url=srv.url, cache_dir=tmp_path, retries=0)
    assert not (tmp_path / NAME).exists() and (tmp_path / (NAME + ".part")).exists()


def test_release_filename():
    assert release_filename("hs17", "V202401") == "BACI_HS17_V202401.zip"
    with pytest.raises(InputError):
        release_filename("HS2022", "2025")


def test_an_unwritable_part_is_an_output_error_not_a_retried_download(tmp_path):
    (tmp_path / (NAME + ".part")).mkdir()  # the partial file cannot be written: the disk, not the network
    with Server({NAME: make_zip()}) as srv:
        with pytest.raises(OutputError, match=r"cannot write the download to .*\.part"):
            fetch_release(base_url=srv.url, cache_dir=tmp_path, retries=2)
        assert len(srv.requests) == 1  # not retried
