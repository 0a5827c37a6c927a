"""Property tests for documents sitesweep reads that others wrote: signature packs and bundles.

A pack is refused with :class:`PackError` and a bundle with :class:`BundleError`; no other
exception may escape, whatever the bytes, because the CLI maps exactly those to exit code 2.
"""

from __future__ import annotations

import contextlib
import json
import math
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from builders import FakeRoot, malicious_pth_content
from sitesweep.bundle import layout
from sitesweep.bundle.decode import from_plain
from sitesweep.bundle.reader import open_bundle, read_inventory
from sitesweep.bundle.serialize import dumps
from sitesweep.errors import BundleError, PackError
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import CollectSpec, Inventory, collect_inventory
from sitesweep.packs.loader import load_pack
from sitesweep.packs.model import Pack

pytestmark = pytest.mark.nonroot

PACK_ID = "prop-pack"
TOP_KEYS = (
    "format", "id", "title", "version", "references", "window", "affected", "files",
    "artifacts", "network", "persistence", "credentials", "remediation", "yara", "other",
)  # fmt: skip
INNER_KEYS = (
    "name", "specifiers", "severity", "note", "id", "site_path", "sha256", "description",
    "name_is_indicator", "filename", "domains", "ips", "urls", "path", "text", "playbook",
    "start", "end",
)  # fmt: skip

TomlValue = Union[str, int, float, bool, datetime, List[Any], Dict[str, Any]]

scalars = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["prop-pack", "high", "critical", "litellm", ">=1.0", "==1.82.8", "", "a/../b",
         "/etc/passwd", "~/x", "https://example.invalid/x", "10.0.0.1", "example.com",
         "0" * 64, "yara/x.yar"]
    ),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.datetimes(timezones=st.sampled_from([timezone.utc, None])),
)  # fmt: skip
toml_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(INNER_KEYS), inner, max_size=5),
    ),
    max_leaves=12,
)


def _toml(value: TomlValue) -> str:
    """Emit ``value`` as a TOML inline value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, str)):
        return json.dumps(value) if isinstance(value, str) else str(value)
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


pack_documents = st.dictionaries(st.sampled_from(TOP_KEYS), toml_values, max_size=10).map(
    lambda doc: "\n".join(f"{k} = {_toml(v)}" for k, v in doc.items()) + "\n"
)


def _load(raw: bytes) -> Optional[Pack]:
    with tempfile.TemporaryDirectory(prefix="sitesweep-prop-") as tmp:
        directory = Path(tmp) / PACK_ID
        directory.mkdir()
        (directory / "pack.toml").write_bytes(raw)
        try:
            return load_pack(directory)
        except PackError as exc:
            problems = exc.problems
    assert problems, "a refused pack names its problems"
    return None


@given(raw=st.binary(max_size=400))
@example(raw=b"\xff\xfe")
@example(raw=b"a = [" * 2000)
def test_load_pack_on_arbitrary_bytes(raw: bytes) -> None:
    _load(raw)


@given(text=pack_documents)
@example(text='format = 1\nid = "prop-pack"\nwindow = {start = 1979-05-27, end = 1}\n')
@example(text='format = 1\nyara = ["../../../../etc/passwd", "/", "."]\n')
def test_load_pack_on_arbitrary_toml(text: str) -> None:
    pack = _load(text.encode("utf-8", "surrogatepass"))
    assert pack is None or pack.id == PACK_ID


# -- bundles ------------------------------------------------------------------------------------

json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False),
        st.text(max_size=20),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=15,
)


def _real_inventory_doc() -> Dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="sitesweep-prop-") as tmp:
        fake = FakeRoot(Path(tmp))
        fake.add_passwd([("alice", 1000, "/home/alice")])
        fake.add_venv("/home/alice/v")
        site = fake.venv_site_packages("/home/alice/v")
        fake.add_dist(site, "litellm", "1.82.8")
        fake.add_pth(site, "litellm_init.pth", malicious_pth_content(fake.marker))
        inventory = collect_inventory(HostRoot(fake.path), CollectSpec())
    doc: Dict[str, Any] = json.loads(dumps(inventory))
    return doc


REAL_DOC = _real_inventory_doc()


def test_real_inventory_round_trips() -> None:
    rebuilt = from_plain(Inventory, REAL_DOC)
    assert json.loads(dumps(rebuilt)) == REAL_DOC


def _decode_only_bundle_error(data: object) -> None:
    with contextlib.suppress(BundleError):
        from_plain(Inventory, data)


@given(data=json_values)
def test_from_plain_on_arbitrary_json(data: object) -> None:
    _decode_only_bundle_error(data)


@given(replacement=json_values, choices=st.lists(st.integers(0, 1000), max_size=8))
@example(replacement=10**400, choices=[])
@example(replacement=-(10**400), choices=[0])
def test_from_plain_on_mutated_inventory(replacement: object, choices: List[int]) -> None:
    doc = json.loads(json.dumps(REAL_DOC))
    parent: Any = doc
    key: Any = None
    for choice in choices:
        container = parent if key is None else parent[key]
        if isinstance(container, dict) and container:
            parent, key = container, sorted(container)[choice % len(container)]
        elif isinstance(container, list) and container:
            parent, key = container, choice % len(container)
        else:
            break
    if key is None:
        doc["distributions"][0]["installed_at"] = replacement
    else:
        parent[key] = replacement
    _decode_only_bundle_error(doc)


def _bundle_dir(base: Path, inventory: bytes, manifest: bytes) -> Path:
    bundle = base / "sitesweep-x-20260101T000000Z"
    bundle.mkdir()
    (bundle / layout.INVENTORY).write_bytes(inventory)
    (bundle / layout.MANIFEST).write_bytes(manifest)
    return bundle


@given(inventory=st.binary(max_size=200), manifest=st.binary(max_size=200))
@example(inventory=b"[" * 100_000, manifest=b"{}")
@example(inventory=b"{}", manifest=b"{" * 100_000)
@example(inventory=b'{"x": 1e999999}', manifest=b"1")
def test_read_inventory_on_arbitrary_files(inventory: bytes, manifest: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="sitesweep-prop-") as tmp:
        bundle = _bundle_dir(Path(tmp), inventory, manifest)
        with pytest.raises(BundleError):
            read_inventory(bundle)


@given(archive=st.binary(max_size=400))
@example(archive=b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + b"\x00" * 40)
def test_open_bundle_on_arbitrary_archive(archive: bytes) -> None:
    with tempfile.TemporaryDirectory(prefix="sitesweep-prop-") as tmp:
        path = Path(tmp) / "bundle.tar.gz"
        path.write_bytes(archive)
        with pytest.raises(BundleError), open_bundle(path) as directory:
            read_inventory(directory)
