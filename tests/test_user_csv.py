"""Every small table a user hands tradeopt (basket, elasticities, codes, country and product tables) is read by
``data.usercsv.read_user_csv``: a file that cannot be parsed is one input error naming the file, never a bare
pandas or decoding error (an empty country table was a bare EmptyDataError, exit 1)."""
from __future__ import annotations

import pytest

from optimize.analysis.sigma import read_elasticities
from optimize.data.basket import load_basket, select_codes
from optimize.data.countries import country_table
from optimize.data.products import product_table
from optimize.errors import InputError

READERS = {
    "basket": lambda p: load_basket(p),
    "elasticities": lambda p: read_elasticities(p),
    "codes": lambda p: select_codes(str(p), ["850440"]),
    "countries": lambda p: country_table(p),
    "products": lambda p: product_table(path=p),
}
BAD = {
    "empty": b"",
    "not utf-8": b"k,sector\n\xff\xfe\x00\x81,health\n",
    "ragged": b'k,sector\n"850440,health\n',
}


@pytest.mark.parametrize("content", sorted(BAD))
@pytest.mark.parametrize("reader", sorted(READERS))
def test_an_unreadable_table_is_one_input_error_naming_the_file(tmp_path, reader, content):
    f = tmp_path / f"{reader}-{content.replace(' ', '_')}.csv"
    f.write_bytes(BAD[content])
    try:
        READERS[reader](f)
    except InputError as exc:
        assert f.name in str(exc) and exc.fix, str(exc)
    except Exception as exc:  # noqa: BLE001  (what this test is for: no bare errors)
        pytest.fail(f"{reader} on {content} raised a bare {type(exc).__name__}: {exc}")


def test_a_codes_csv_with_a_k_header_lists_its_codes(tmp_path):
    f = tmp_path / "codes.csv"
    f.write_text("k,note\n850440,x\n8541,y\n", encoding="utf-8")
    assert select_codes(str(f), ["850440", "854143", "854231", "870321"]) == ["850440", "854143"]


@pytest.mark.parametrize(("reader", "header", "lacking"), [("basket", "k,name", "sector"),
                                                            ("elasticities", "code,sigma", "k"),
                                                            ("elasticities", "k,s", "sigma")])
def test_a_missing_column_is_named(tmp_path, reader, header, lacking):
    f = tmp_path / "t.csv"
    f.write_text(f"{header}\n850440,5\n", encoding="utf-8")
    with pytest.raises(InputError) as err:
        READERS[reader](f)
    assert err.value.field == lacking and "t.csv" in str(err.value)


def test_column_names_are_read_stripped(tmp_path):
    f = tmp_path / "b.csv"
    f.write_text("k , sector \n850440,energy\n", encoding="utf-8")
    assert load_basket(f)[["k", "sector"]].values.tolist() == [["850440", "energy"]]
