"""The simulated vehicle register: ~60 Omani vehicles and owners, the same for a given seed.

Expiry dates are offsets from `today`, so the valid vehicles stay valid whenever the demo runs;
about ten registrations have lapsed. The canonical example (12345 AB, Salim bin Hamad Al Harthy)
is always present so that documentation and health checks can name a plate that exists.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

VEHICLE_COUNT = 60
LAPSED_COUNT = 10
EXAMPLE_PLATE = ("12345", "AB")

# Tables laid out by hand, several entries a line, so they read as tables.
# fmt: off
_MALE = [
    ("Salim", "سالم"), ("Hamad", "حمد"), ("Said", "سعيد"), ("Khalid", "خالد"),
    ("Ahmed", "أحمد"), ("Mohammed", "محمد"), ("Sultan", "سلطان"), ("Nasser", "ناصر"),
    ("Talal", "طلال"), ("Hilal", "هلال"), ("Badar", "بدر"), ("Yousuf", "يوسف"),
    ("Abdullah", "عبدالله"), ("Saif", "سيف"), ("Majid", "ماجد"), ("Issa", "عيسى"),
    ("Rashid", "راشد"), ("Ali", "علي"), ("Faisal", "فيصل"), ("Hamood", "حمود"),
    ("Mazin", "مازن"), ("Zahir", "زاهر"),
]
_FEMALE = [
    ("Aisha", "عائشة"), ("Fatma", "فاطمة"), ("Maryam", "مريم"), ("Zainab", "زينب"),
    ("Muna", "منى"), ("Shamsa", "شمسة"), ("Huda", "هدى"), ("Amal", "أمل"),
    ("Bushra", "بشرى"), ("Noora", "نورة"), ("Salma", "سلمى"), ("Thuraya", "ثريا"),
]
# (English, Arabic for a man, Arabic for a woman)
_FAMILIES = [
    ("Al Harthy", "الحارثي", "الحارثية"), ("Al Balushi", "البلوشي", "البلوشية"),
    ("Al Busaidi", "البوسعيدي", "البوسعيدية"), ("Al Hinai", "الهنائي", "الهنائية"),
    ("Al Kindi", "الكندي", "الكندية"), ("Al Rawahi", "الرواحي", "الرواحية"),
    ("Al Maamari", "المعمري", "المعمرية"), ("Al Lawati", "اللواتي", "اللواتية"),
    ("Al Siyabi", "السيابي", "السيابية"), ("Al Shukaili", "الشكيلي", "الشكيلية"),
    ("Al Wahaibi", "الوهيبي", "الوهيبية"), ("Al Riyami", "الريامي", "الريامية"),
    ("Al Amri", "العامري", "العامرية"), ("Al Habsi", "الحبسي", "الحبسية"),
    ("Al Farsi", "الفارسي", "الفارسية"), ("Al Mahrouqi", "المحروقي", "المحروقية"),
    ("Al Saadi", "السعدي", "السعدية"), ("Al Jabri", "الجابري", "الجابرية"),
]
_MODELS = {
    "Toyota": ["Land Cruiser", "Prado", "Camry", "Corolla", "Hilux", "Fortuner", "Yaris", "RAV4"],
    "Nissan": ["Patrol", "Sunny", "X-Trail", "Altima"],
    "Hyundai": ["Elantra", "Tucson", "Accent", "Sonata", "Santa Fe"],
    "Kia": ["Sportage", "Cerato", "Picanto", "Sorento"],
    "Mitsubishi": ["Pajero", "L200", "ASX"],
    "Lexus": ["LX 600", "ES 350", "RX 350"],
    "Honda": ["Accord", "Civic", "CR-V"],
    "Ford": ["Ranger", "Explorer", "Expedition"],
    "GMC": ["Yukon", "Sierra"],
    "Chevrolet": ["Tahoe", "Silverado", "Malibu"],
    "Mazda": ["CX-5", "6"],
    "MG": ["ZS", "5"],
}
# Toyota and Nissan dominate Omani roads; the weights say so.
_MAKE_WEIGHTS = [30, 14, 12, 9, 6, 5, 5, 4, 4, 4, 2, 2]
_COLOURS = [
    ("White", "أبيض"), ("Pearl White", "أبيض لؤلؤي"), ("Silver", "فضي"), ("Black", "أسود"),
    ("Grey", "رمادي"), ("Beige", "بيج"), ("Blue", "أزرق"), ("Red", "أحمر"),
    ("Gold", "ذهبي"), ("Brown", "بني"), ("Maroon", "عنابي"), ("Green", "أخضر"),
]
_COLOUR_WEIGHTS = [35, 8, 15, 10, 8, 6, 4, 4, 3, 3, 2, 2]
_PLATE_CODES = [
    "A", "AA", "AB", "AD", "AR", "B", "BB", "BD", "D", "DD", "H", "HA", "HR", "J", "K",
    "KK", "M", "MM", "R", "RR", "S", "SS", "T", "W", "WW", "Y", "YY",
]
# fmt: on


@dataclass(frozen=True)
class Owner:
    civil_id: str
    name_en: str
    name_ar: str
    phone: str | None = None


@dataclass(frozen=True)
class Vehicle:
    plate_number: str
    plate_code: str
    make: str
    model: str
    year: int
    colour_en: str
    colour_ar: str
    registration_expiry: date
    owner: Owner

    @property
    def plate(self) -> str:
        """The plate as Omanis write it, e.g. `12345 AB`."""
        return f"{self.plate_number} {self.plate_code}"

    def registered_on(self, day: date) -> bool:
        """True while the registration has not lapsed on `day`."""
        return self.registration_expiry >= day


def _owner(rng: random.Random, civil_ids: set[str]) -> Owner:
    civil_id = f"{rng.randint(1_000_000, 29_999_999):08d}"
    while civil_id in civil_ids:
        civil_id = f"{rng.randint(1_000_000, 29_999_999):08d}"
    civil_ids.add(civil_id)
    female = rng.random() < 0.3
    first_en, first_ar = rng.choice(_FEMALE if female else _MALE)
    father_en, father_ar = rng.choice(_MALE)
    family_en, family_ar_m, family_ar_f = rng.choice(_FAMILIES)
    if female:
        link_en, link_ar, family_ar = "bint", "بنت", family_ar_f
    else:
        link_en, link_ar, family_ar = "bin", "بن", family_ar_m
    phone = None if rng.random() < 0.1 else f"+9689{rng.randint(0, 9_999_999):07d}"
    return Owner(
        civil_id=civil_id,
        name_en=f"{first_en} {link_en} {father_en} {family_en}",
        name_ar=f"{first_ar} {link_ar} {father_ar} {family_ar}",
        phone=phone,
    )


def _plate(rng: random.Random) -> tuple[str, str]:
    digits = rng.choices([2, 3, 4, 5], weights=[1, 2, 5, 12])[0]
    number = str(rng.randint(10 ** (digits - 1), 10**digits - 1))
    return number, rng.choice(_PLATE_CODES)


def _example(today: date) -> Vehicle:
    owner = Owner("09123456", "Salim bin Hamad Al Harthy", "سالم بن حمد الحارثي", "+96899123456")
    return Vehicle(
        *EXAMPLE_PLATE,
        "Toyota",
        "Land Cruiser",
        2021,
        "White",
        "أبيض",
        today + timedelta(days=540),
        owner,
    )


def vehicles(seed: int = 0, today: date | None = None) -> tuple[Vehicle, ...]:
    """The whole register for `seed`, the example vehicle first; lapsed ones are spread in."""
    return _register(seed, today or date.today())


def find_vehicle(
    plate_number: str, plate_code: str, seed: int = 0, today: date | None = None
) -> Vehicle | None:
    """The vehicle behind a plate, or None when the register does not know it."""
    return _by_plate(seed, today or date.today()).get((plate_number, plate_code))


@lru_cache(maxsize=8)
def _by_plate(seed: int, today: date) -> dict[tuple[str, str], Vehicle]:
    return {(v.plate_number, v.plate_code): v for v in _register(seed, today)}


@lru_cache(maxsize=8)
def _register(seed: int, today: date) -> tuple[Vehicle, ...]:
    rng = random.Random(seed)
    example = _example(today)
    register: list[Vehicle] = [example]
    plates = {EXAMPLE_PLATE}
    civil_ids = {example.owner.civil_id}
    lapsed = set(rng.sample(range(1, VEHICLE_COUNT), LAPSED_COUNT))
    owners: list[Owner] = []
    for index in range(1, VEHICLE_COUNT):
        plate = _plate(rng)
        while plate in plates:
            plate = _plate(rng)
        plates.add(plate)
        # About one owner in six has a second vehicle, as families and small firms do.
        if owners and rng.random() < 0.15:
            owner = rng.choice(owners)
        else:
            owner = _owner(rng, civil_ids)
            owners.append(owner)
        make = rng.choices(list(_MODELS), weights=_MAKE_WEIGHTS)[0]
        colour_en, colour_ar = rng.choices(_COLOURS, weights=_COLOUR_WEIGHTS)[0]
        offset = -rng.randint(1, 400) if index in lapsed else rng.randint(15, 730)
        register.append(
            Vehicle(
                plate_number=plate[0],
                plate_code=plate[1],
                make=make,
                model=rng.choice(_MODELS[make]),
                year=today.year - rng.randint(0, 14),
                colour_en=colour_en,
                colour_ar=colour_ar,
                registration_expiry=today + timedelta(days=offset),
                owner=owner,
            )
        )
    return tuple(register)


def valid_vehicles(seed: int = 0, today: date | None = None) -> list[Vehicle]:
    """Vehicles whose registration is valid on `today`."""
    day = today or date.today()
    return [v for v in vehicles(seed, day) if v.registered_on(day)]


def lapsed_vehicles(seed: int = 0, today: date | None = None) -> list[Vehicle]:
    """Vehicles whose registration had lapsed before `today`."""
    day = today or date.today()
    return [v for v in vehicles(seed, day) if not v.registered_on(day)]


def unknown_plates(count: int, seed: int = 0) -> list[tuple[str, str]]:
    """`count` well-formed plates the register for `seed` does not know (for not-found cases)."""
    known = {(v.plate_number, v.plate_code) for v in vehicles(seed)}
    rng = random.Random(f"unknown-plates-{seed}")
    found: list[tuple[str, str]] = []
    while len(found) < count:
        plate = _plate(rng)
        if plate not in known and plate not in found:
            found.append(plate)
    return found
