"""Uploads as zips and folders through ingest.load(): hostile archives are refused unexpanded,
broken ones are refused whole, and nothing partial ever comes back."""

from __future__ import annotations

import re
import shutil
import zipfile
from pathlib import Path

import pytest

from ingest.archive import Limits
from ingest.errors import MalformedFileError, UnsafeInputError
from ingest.load import load

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
EXPORT_XML = FIXTURES / "apple_health" / "export_v14.xml"
EXPORT_ZIP = FIXTURES / "apple_health" / "export.zip"
MERGED_SLEEP = Path("fitbit") / "merged" / "sleep.json"
MIB = 1024 * 1024


def test_zip_bomb_is_refused_without_expanding_it(tmp_path: Path) -> None:
    bomb = tmp_path / "export.zip"
    zeros = bytes(MIB)
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("apple_health_export/export.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(200):  # 200 MB of zeros in a zip of about 200 KB
            member.write(zeros)
    assert bomb.stat().st_size < 1 * MIB

    with pytest.raises(UnsafeInputError) as refused:
        load(bomb)

    assert str(refused.value).startswith(f"{bomb}: member 'apple_health_export/export.xml'")
    # judged from the zip's directory (sizes), so nothing was inflated
    assert re.search(r"expands \d{3,}-fold \(limit 250\)", str(refused.value))
    assert "refused as a zip bomb" in str(refused.value)


def test_bomb_spread_over_many_small_members_is_refused(tmp_path: Path) -> None:
    bomb = tmp_path / "export.zip"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(40):  # each member alone stays under the size where ratios are judged
            zf.writestr(f"apple_health_export/part{i:02d}.xml", bytes(MIB))

    with pytest.raises(UnsafeInputError, match=r"expands [0-9]+-fold in total"):
        load(bomb)


def test_zip_expanding_past_the_total_limit_is_refused() -> None:
    with pytest.raises(UnsafeInputError, match="more than the limit of 1000"):
        load(EXPORT_ZIP, limits=Limits(max_total_bytes=1000))


@pytest.mark.parametrize(
    ("name", "member"),
    [
        ("zip_slip.zip", "../../outside/export.xml"),
        ("zip_absolute.zip", "/tmp/apple_health_export/export.xml"),
    ],
)
def test_member_paths_leaving_the_archive_are_refused(name: str, member: str) -> None:
    path = FIXTURES / "hostile" / name
    with pytest.raises(UnsafeInputError) as refused:
        load(path)

    assert str(refused.value) == (
        f"{path}: member path {member!r} is absolute or leaves the archive"
    )


def test_truncated_zip_is_refused_as_malformed(tmp_path: Path) -> None:
    cut = tmp_path / "export.zip"
    data = EXPORT_ZIP.read_bytes()
    cut.write_bytes(data[: len(data) // 2])

    with pytest.raises(MalformedFileError) as refused:
        load(cut)

    assert str(refused.value).startswith(f"{cut}: not a readable zip archive")


def test_member_failing_its_checksum_is_refused_whole(tmp_path: Path) -> None:
    damaged = tmp_path / "export.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_STORED) as zf:
        zf.write(EXPORT_XML, "apple_health_export/export.xml")
    data = damaged.read_bytes()
    # one heart-rate value changed after the checksum was written: still well-formed XML
    damaged.write_bytes(data.replace(b'value="62"', b'value="92"', 1))

    with pytest.raises(MalformedFileError) as refused:
        load(damaged)

    assert str(refused.value).startswith(f"{damaged}!apple_health_export/export.xml")
    assert "corrupt" in str(refused.value)


def test_member_with_a_damaged_deflate_stream_is_refused(tmp_path: Path) -> None:
    damaged = tmp_path / "export.zip"
    with zipfile.ZipFile(damaged, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.write(EXPORT_XML, "apple_health_export/export.xml")
    data = bytearray(damaged.read_bytes())
    start = 30 + len("apple_health_export/export.xml")  # past the local file header
    data[start + 200 : start + 260] = bytes(range(60))
    damaged.write_bytes(bytes(data))

    with pytest.raises(MalformedFileError, match=r"apple_health_export/export\.xml"):
        load(damaged)


def _zip(path: Path, members: dict[str, Path | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in members.items():
            if isinstance(content, Path):
                zf.write(content, name)
            else:
                zf.writestr(name, content)
    return path


def test_a_zip_inside_a_zip_is_read_like_the_zip_itself(tmp_path: Path) -> None:
    outer = _zip(tmp_path / "upload.zip", {"Health/export.zip": EXPORT_ZIP})
    direct = load(EXPORT_ZIP, patient_id="p")
    nested = load(outer, patient_id="p")
    assert nested.samples.equals(direct.samples)
    prefix = f"{outer}!Health/export.zip!"
    assert [name.removeprefix(prefix) for name, _ in nested.read] == [
        name.removeprefix(f"{EXPORT_ZIP}!") for name, _ in direct.read
    ]
    assert [name.removeprefix(prefix) for name in nested.skipped] == [
        name.removeprefix(f"{EXPORT_ZIP}!") for name in direct.skipped
    ]


def test_a_zip_inside_a_folder_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "p01"
    folder.mkdir()
    shutil.copy(EXPORT_ZIP, folder / "export.zip")
    shutil.copytree(FIXTURES / "fitbit" / "merged", folder / "fitbit")
    loaded = load(folder, patient_id="p")
    assert {fmt for _, fmt in loaded.read} == {
        "apple_health",
        "fitbit_sleep_json",
        "fitbit_resting_heart_rate",
        "fitbit_steps",
    }
    assert set(loaded.sources) == {"apple_health", "fitbit"}


def test_zips_nested_deeper_than_the_limit_are_refused_by_name(tmp_path: Path) -> None:
    inner = _zip(tmp_path / "1.zip", {"export.zip": EXPORT_ZIP})
    middle = _zip(tmp_path / "2.zip", {"1.zip": inner})
    outer = _zip(tmp_path / "3.zip", {"2.zip": middle, "sleep.json": FIXTURES / MERGED_SLEEP})
    loaded = load(outer, limits=Limits(max_depth=3))
    assert loaded.read == [(f"{outer}!sleep.json", "fitbit_sleep_json")]
    [(name, why)] = loaded.refused
    assert name == f"{outer}!2.zip!1.zip!export.zip"
    assert why == "a zip nested more than 3 archives deep: not opened"
    assert len(load(outer, limits=Limits(max_depth=4)).read) == 2


def test_a_bomb_inside_a_zip_is_refused_by_name_without_expanding_it(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.zip"
    with (
        zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf,
        zf.open("export.xml", "w", force_zip64=True) as member,
    ):
        for _ in range(50):
            member.write(bytes(MIB))
    outer = _zip(tmp_path / "upload.zip", {"bomb.zip": bomb, "sleep.json": FIXTURES / MERGED_SLEEP})
    loaded = load(outer)
    assert loaded.read == [(f"{outer}!sleep.json", "fitbit_sleep_json")]
    [(name, why)] = loaded.refused
    assert name == f"{outer}!bomb.zip" and "refused as a zip bomb" in why


def test_nested_zips_share_one_size_limit(tmp_path: Path) -> None:
    outer = _zip(tmp_path / "upload.zip", {"a.zip": EXPORT_ZIP, "b/a.zip": EXPORT_ZIP})
    one = sum(i.file_size for i in zipfile.ZipFile(EXPORT_ZIP).infolist())
    budget = 2 * EXPORT_ZIP.stat().st_size + one + one // 2  # the two zips and one export
    loaded = load(outer, limits=Limits(max_total_bytes=budget))
    assert len(loaded.read) == 1
    [(name, why)] = loaded.refused
    assert name == f"{outer}!b/a.zip" and f"more than the limit of {budget}" in why


def test_folder_upload_reads_the_export_and_skips_mac_clutter(tmp_path: Path) -> None:
    folder = tmp_path / "apple_health_export"
    folder.mkdir()
    shutil.copy(EXPORT_XML, folder / "Export.xml")
    (folder / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (folder / "export_cda.xml").write_text(
        '<?xml version="1.0"?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>\n', encoding="utf-8"
    )

    loaded = load(folder)

    assert loaded.read == [(f"{folder}/Export.xml", "apple_health")]
    assert loaded.skipped == [f"{folder}/export_cda.xml"]
    assert loaded.samples.height == 14


def test_member_lying_about_its_size_is_cut_at_the_declared_size_and_refused(
    tmp_path: Path,
) -> None:
    lying = tmp_path / "export.zip"
    with zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("apple_health_export/export.xml", EXPORT_XML.read_bytes() * 20)
    data = bytearray(lying.read_bytes())
    # the central directory claims 5,000 bytes, as a bomb hiding from the size checks would
    central = data.index(b"PK\x01\x02")
    data[central + 24 : central + 28] = (5000).to_bytes(4, "little")
    lying.write_bytes(bytes(data))

    with pytest.raises(MalformedFileError) as refused:
        load(lying)

    assert str(refused.value).startswith(f"{lying}!apple_health_export/export.xml")
