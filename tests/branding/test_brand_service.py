"""The brand in the database: saved and read back, each bad field refused by name, the photo
re-encoded clean, the cache, and on PostgreSQL who may change the row.

A database of its own per backend: the brand is one row every page of every test would show.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import select, text
from starlette.requests import Request

from sessionbook.branding.colors import contrast_ratio, relative_luminance
from sessionbook.branding.models import Brand
from sessionbook.branding.photo import PHOTO_MAX_BYTES, PHOTO_MAX_SIDE, process_photo
from sessionbook.branding.profile import BrandProfile
from sessionbook.branding.repository import BrandRepository
from sessionbook.branding.service import BrandAuthor, BrandDraft, BrandRefused, BrandService
from sessionbook.core.db import ADMIN, SERVICE, Actor, Database, Role
from sessionbook.payments.links import PAYMENT_TITLE_MAX_LENGTH, payment_title
from sessionbook.web.deps import load_brand
from tests.branding.images import (
    CAMERA,
    gif,
    jpeg_with_exif,
    png,
    png_claiming,
)
from tests.conftest import DatabaseUnderTest, separate_database

AUTHOR = BrandAuthor(changed_by="admin", client_address="127.0.0.1")
GOOD = BrandDraft(
    business_name="Anna Coaching",
    coach_name="Coach Anna",
    bio="Ten years of helping people\nfind their footing.",
    accent_color="#2F5D8A",
    support_email="help@anna.example.com",
    default_language="fr",
)


@pytest.fixture(scope="module")
async def brand_db(
    test_db: DatabaseUnderTest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[DatabaseUnderTest]:
    async with separate_database(test_db, tmp_path_factory.mktemp("brand")) as database:
        yield database


@pytest.fixture(scope="module")
async def database(brand_db: DatabaseUnderTest) -> AsyncIterator[Database]:
    database = Database(brand_db.app_url)
    yield database
    await database.dispose()


@pytest.fixture
def brand(database: Database) -> BrandService:
    return BrandService(database)


def with_(**changes: Any) -> BrandDraft:
    values = {name: getattr(GOOD, name) for name in GOOD.__slots__}
    values.update(changes)
    return BrandDraft(**values)


async def stored_row(database: Database) -> tuple[Any, ...]:
    async with database.transaction(ADMIN) as session:
        row = (await session.execute(select(Brand.__table__))).one()
    return tuple(row)


async def refused_fields(brand: BrandService, draft: BrandDraft, **photo: Any) -> dict[str, str]:
    with pytest.raises(BrandRefused) as refused:
        await brand.save(draft, AUTHOR, **photo)
    return refused.value.fields or {}


def test_contrast_follows_wcag() -> None:
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert relative_luminance("#ffffff") == pytest.approx(1.0)
    # WCAG's worked figure: #777777 on white is 4.48:1, just under AA.
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.005)
    assert contrast_ratio("#2f5d8a", "#ffffff") > 4.5
    assert contrast_ratio("#ffff00", "#ffffff") < 1.1


async def test_a_fresh_install_has_neutral_defaults(database: Database) -> None:
    profile = await BrandService(database).current()

    assert profile == BrandProfile()
    assert not profile.configured
    assert profile.display_name == ""
    assert profile.photo_url is None


async def test_a_save_is_read_back_by_another_service(database: Database) -> None:
    saved = await BrandService(database).save(GOOD, AUTHOR)
    read = await BrandService(database).current()

    assert read == saved
    assert read.configured
    assert read.business_name == "Anna Coaching"
    assert read.coach_name == "Coach Anna"
    assert read.bio == "Ten years of helping people\nfind their footing."
    assert read.accent_color == "#2f5d8a"
    assert read.support_email == "help@anna.example.com"
    assert read.default_language == "fr"
    assert read.display_name == "Anna Coaching"


@pytest.mark.parametrize(
    ("changes", "field", "says"),
    [
        ({"accent_color": "#ffff00"}, "accent_color", "1.07:1"),
        # 4.4799...: cut, not rounded up to a ratio that would seem to pass.
        ({"accent_color": "#777777"}, "accent_color", "4.47:1"),
        ({"accent_color": "blue"}, "accent_color", "#rrggbb"),
        ({"accent_color": "#2f5d8"}, "accent_color", "#rrggbb"),
        ({"business_name": "B" * 101}, "business_name", "at most 100"),
        ({"coach_name": "C" * 101}, "coach_name", "at most 100"),
        ({"business_name": "", "coach_name": ""}, "business_name", "business name or a coach"),
        ({"bio": "b" * 501}, "bio", "at most 500"),
        ({"bio": "a\x00b"}, "bio", "control characters"),
        ({"support_email": "not an address"}, "support_email", "valid email"),
        ({"support_email": "a@b"}, "support_email", "valid email"),
        ({"default_language": "de"}, "default_language", "en, fr"),
    ],
)
async def test_each_refusal_names_its_field_and_changes_nothing(
    brand: BrandService,
    database: Database,
    changes: dict[str, str],
    field: str,
    says: str,
) -> None:
    before = await stored_row(database)

    fields = await refused_fields(brand, with_(**changes))

    assert list(fields) == [field]
    assert says in fields[field]
    assert await stored_row(database) == before


async def test_the_contrast_refusal_gives_the_ratio_and_a_dark_accent_passes(
    brand: BrandService,
) -> None:
    fields = await refused_fields(brand, with_(accent_color="#FFFF00"))
    saved = await brand.save(with_(accent_color="#2f5d8a"), AUTHOR)

    assert "contrast of 1.07:1 against white" in fields["accent_color"]
    assert "4.5:1" in fields["accent_color"]
    assert saved.accent_color == "#2f5d8a"


async def test_every_bad_field_is_named_at_once(brand: BrandService) -> None:
    draft = with_(accent_color="#ffff00", support_email="nope", default_language="xx")

    fields = await refused_fields(brand, draft, photo=gif())

    assert set(fields) == {"accent_color", "support_email", "default_language", "photo"}


@pytest.mark.parametrize(
    ("upload", "says"),
    [
        (b"\x89PNG" + b"\x00" * PHOTO_MAX_BYTES, "larger than 2 MB"),
        (b"Hello, this is a text file named photo.png\n" * 20, "PNG, JPEG or WebP"),
        (b"", "empty"),
        ("gif", "PNG, JPEG or WebP"),
        ("claimed bomb", "too many pixels"),
        ("real bomb", "too many pixels"),
        ("truncated", "damaged"),
    ],
)
async def test_a_bad_photo_is_refused_by_name_and_nothing_changes(
    brand: BrandService, database: Database, upload: bytes | str, says: str
) -> None:
    made: dict[str, Callable[[], bytes]] = {
        "gif": gif,
        # 100 000 x 100 000 claimed by a file of a few hundred bytes.
        "claimed bomb": lambda: png_claiming(100_000, 100_000),
        # 8000 x 8000 real pixels (64 million) packed into a small file.
        "real bomb": lambda: png(8000, 8000, mode="1"),
        "truncated": lambda: jpeg_with_exif()[:600],
    }
    data = made[upload]() if isinstance(upload, str) else upload
    before = await stored_row(database)

    fields = await refused_fields(brand, GOOD, photo=data)

    assert list(fields) == ["photo"]
    assert says in fields["photo"]
    assert await stored_row(database) == before


def test_an_oversized_upload_is_refused_before_pillow_reads_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    opened: list[object] = []
    monkeypatch.setattr(Image, "open", lambda *args, **kwargs: opened.append(args))
    from sessionbook.branding.photo import PhotoRefused

    with pytest.raises(PhotoRefused):
        process_photo(png(10, 10) + b"\x00" * PHOTO_MAX_BYTES)
    assert opened == []


def test_the_photo_is_turned_upright_shrunk_and_stripped_of_its_exif() -> None:
    upload = jpeg_with_exif(800, 400)
    assert CAMERA.encode() in upload

    processed = process_photo(upload)
    image = Image.open(io.BytesIO(processed.data))

    assert image.format == "WEBP"
    assert processed.content_type == "image/webp"
    # Landscape 800x400 turned upright is portrait, then fitted within 512x512.
    assert image.size == (256, 512) == (processed.width, processed.height)
    assert "exif" not in image.info
    assert len(image.getexif()) == 0
    assert CAMERA.encode() not in processed.data
    # The blue marker of the top-left corner is now in the top-right corner.
    red, _green, blue = image.convert("RGB").getpixel((image.width - 10, 10))  # type: ignore[misc]
    assert blue > 150
    assert red < 100


def test_a_large_logo_fits_within_512_and_keeps_its_shape() -> None:
    processed = process_photo(png(2000, 1000, transparent_corner=True))
    image = Image.open(io.BytesIO(processed.data))

    assert max(image.size) == PHOTO_MAX_SIDE
    assert image.size == (512, 256)
    assert image.mode == "RGBA"
    assert image.getpixel((0, 0))[3] == 0  # type: ignore[index]
    assert image.getpixel((500, 250))[3] == 255  # type: ignore[index]


async def test_a_photo_is_stored_versioned_by_its_hash_and_can_be_removed(
    brand: BrandService,
) -> None:
    saved = await brand.save(GOOD, AUTHOR, photo=jpeg_with_exif())
    stored = await BrandService(brand.database).photo()

    assert saved.photo_version is not None
    assert len(saved.photo_version) == 64
    assert saved.photo_url == f"/brand/photo?v={saved.photo_version}"
    assert stored is not None
    assert stored.version == saved.photo_version
    assert CAMERA.encode() not in stored.data

    kept = await brand.save(with_(bio="Kept photo."), AUTHOR)
    assert kept.photo_version == saved.photo_version

    removed = await brand.save(GOOD, AUTHOR, remove_photo=True)
    assert removed.photo_version is None
    assert await BrandService(brand.database).photo() is None


async def test_a_save_shows_here_at_once_and_on_another_server_within_the_cache_time(
    database: Database,
) -> None:
    now = [1000.0]
    here = BrandService(database, clock=lambda: now[0])
    there = BrandService(database, cache_seconds=5, clock=lambda: now[0])
    await here.save(with_(business_name="Before"), AUTHOR)
    assert (await there.current()).business_name == "Before"

    await here.save(with_(business_name="After"), AUTHOR)

    assert (await here.current()).business_name == "After"
    assert (await there.current()).business_name == "Before"  # cached for 5 s
    now[0] += 5
    assert (await there.current()).business_name == "After"


async def test_on_postgresql_only_the_admin_role_may_change_the_brand(
    brand_db: DatabaseUnderTest, database: Database
) -> None:
    if not brand_db.is_postgres:
        pytest.skip("roles and row-level security are PostgreSQL's")
    update = text("UPDATE brand SET business_name = 'Hijacked'")
    for actor in (Actor(Role.CUSTOMER), SERVICE):
        with pytest.raises(Exception, match="permission denied"):
            async with database.transaction(actor) as session:
                await session.execute(update)
        with pytest.raises(Exception, match="permission denied"):
            async with database.transaction(actor) as session:
                await session.execute(text("DELETE FROM brand"))
    async with database.transaction(Actor(Role.CUSTOMER)) as session:
        names = (await session.execute(text("SELECT business_name FROM brand"))).all()

    assert len(names) == 1
    assert names[0][0] != "Hijacked"


async def test_a_read_that_began_before_a_save_does_not_cache_the_old_brand(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = BrandService(database)
    await here.save(with_(business_name="Old"), AUTHOR)
    here._cached = None  # as after the cache time ran out
    reading = asyncio.Event()
    release = asyncio.Event()
    original = BrandRepository.current

    async def slow_read(self: BrandRepository, *, for_update: bool = False) -> Brand | None:
        found = await original(self, for_update=for_update)
        if not for_update and not reading.is_set():
            reading.set()
            await release.wait()
        return found

    monkeypatch.setattr(BrandRepository, "current", slow_read)
    stale_read = asyncio.create_task(here.current())
    await reading.wait()
    await here.save(with_(business_name="New"), AUTHOR)
    release.set()

    assert (await stale_read).business_name == "Old"
    assert (await here.current()).business_name == "New"


def test_a_payment_title_names_the_brand_first_and_keeps_within_200_characters() -> None:
    assert payment_title("Coach Anna", "Monthly package") == "Coach Anna · Monthly package"
    assert payment_title("", "Monthly package") == "Monthly package"
    long_title = payment_title("N" * 100, "T" * 200)
    assert len(long_title) == PAYMENT_TITLE_MAX_LENGTH
    assert long_title.startswith("N" * 100 + " · T")
    assert long_title.endswith("…")


async def test_pages_keep_the_last_brand_while_the_database_is_unreachable(
    tmp_path: Path,
) -> None:
    unreachable = Database(f"sqlite+aiosqlite:///{tmp_path}/missing/dir/brand.db")
    brand = BrandService(unreachable)
    request = Request({"type": "http", "method": "GET", "path": "/favicon.ico", "headers": []})
    try:
        await load_brand(request, brand)
    finally:
        await unreachable.dispose()

    assert request.state.brand == BrandProfile()
