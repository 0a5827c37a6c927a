"""The ``file/yara`` check: which files it matches, what a finding says, gaps, scan = analyze."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any, List, Optional, Set, Tuple

from builders import FakeRoot, malicious_pth_content
from clirun import RunCli
from sitesweep.candidates import yara_candidates
from sitesweep.checks.base import CheckContext
from sitesweep.checks.yara import YaraRules
from sitesweep.content import EvidenceContent, HostContent
from sitesweep.engine import ScanResult, analyze
from sitesweep.hostfs import HostRoot
from sitesweep.inventory import collect_inventory
from sitesweep.model import Finding, GapReason, Severity
from sitesweep.packs import load_packs
from sitesweep.packs.model import PackSet
from sitesweep.packs.yararules import YaraLimits
from sitesweep.pipeline import ScanOptions, collect_spec, run_scan

VENV = "/home/alice/app/.venv"
SITE = f"{VENV}/lib/python3.11/site-packages"
LOADER_RULE = "litellm-2026-03/yara/litellm_pth_loader"
PAYLOAD_RULE = "litellm-2026-03/yara/litellm_payload_strings"
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def _scan(root: FakeRoot, packs: PackSet, limits: Optional[YaraLimits] = None) -> ScanResult:
    host = HostRoot(root.path)
    spec = collect_spec(packs, host, ScanOptions())
    inventory = collect_inventory(host, spec)
    return analyze(inventory, packs, strict=True, content=HostContent(host), yara_limits=limits)


def _yara(result: ScanResult) -> List[Finding]:
    return [f for f in result.findings if f.rule.startswith("litellm-2026-03/yara/")]


def _payload_py() -> bytes:
    return (
        SAMPLES / "litellm_payload_strings" / "match" / "orchestrator_shape.py.txt"
    ).read_bytes()


def test_renamed_malicious_pth_is_found_by_yara_end_to_end(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "zz_helper.pth", malicious_pth_content(fake_root.marker))
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(tmp_path / "o"), "--json")
    assert run.code == 1, run.err
    hits = [f for f in json.loads(run.out)["findings"] if f["rule"] == LOADER_RULE]
    assert len(hits) == 1
    (hit,) = hits
    assert hit["paths"] == [f"{SITE}/zz_helper.pth"]
    assert hit["pack"] == "litellm-2026-03"
    assert hit["severity"] == "critical"
    assert hit["category"] == "file"
    assert hit["environment"] == VENV
    values = {e["value"] for e in hit["evidence"] if e["label"] == "matched string"}
    assert any(v.startswith("$exec_b64@") for v in values)
    assert all(e["line"] is None for e in hit["evidence"])
    assert hit["title"].startswith("Python start-up loader shaped like litellm 1.82.8")
    assert not fake_root.marker.exists()


def test_yara_syntax_error_in_extra_pack_is_exit_2_naming_the_file(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    pack = tmp_path / "packs" / "broken-2026-01"
    (pack / "yara").mkdir(parents=True)
    (pack / "pack.toml").write_text(
        'format = 1\nid = "broken-2026-01"\ntitle = "Broken"\nversion = "1"\n'
        'yara = ["yara/broken.yar"]\n\n[remediation]\ntext = "n/a"\n'
    )
    (pack / "yara" / "broken.yar").write_text("rule broken {\n  condition:\n    true and\n}\n")
    out = tmp_path / "out"
    args = ("--signatures", str(pack.parent), "--output", str(out))
    run = run_cli("scan", "--root", str(fake_root.path), *args)
    assert run.code == 2
    err = " ".join(run.err.split())
    assert "broken.yar" in err
    assert "line 4" in err
    assert not out.exists()  # failed before anything was scanned or written


def test_file_of_pack_named_distribution_is_matched(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    files = {
        "litellm/__init__.py": b"__version__ = '1.82.6'\n",
        "litellm/proxy/proxy_server.py": _payload_py(),
    }
    fake_root.add_dist(SITE, "litellm", "1.82.6", files=files)
    fake_root.add_dist(SITE, "requests", "2.31.0", files={"requests/x.py": _payload_py()})
    result = _scan(fake_root, load_packs())
    hits = [f for f in _yara(result) if f.rule == PAYLOAD_RULE]
    assert [f.paths for f in hits] == [(f"{SITE}/litellm/proxy/proxy_server.py",)]
    assert hits[0].distribution == "litellm"
    assert hits[0].version == "1.82.6"
    assert hits[0].severity is Severity.CRITICAL


def test_candidates_are_pth_hooks_files_and_pack_named_distributions(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "paths.pth", "/opt/extra\n")
    fake_root.add_file(f"{SITE}/sitecustomize.py", "import os\n")
    fake_root.add_dist(SITE, "LiteLLM", "1.83.0")
    fake_root.add_dist(SITE, "requests", "2.31.0")
    fake_root.add_file("/home/alice/.config/sysmon/sysmon.py", "print('hello')\n")
    packs = load_packs()
    host = HostRoot(fake_root.path)
    inventory = collect_inventory(host, collect_spec(packs, host, ScanOptions()))
    chosen = set(yara_candidates(inventory, packs))
    assert f"{SITE}/paths.pth" in chosen
    assert f"{SITE}/sitecustomize.py" in chosen
    assert "/home/alice/.config/sysmon/sysmon.py" in chosen
    assert f"{SITE}/litellm/__init__.py" in chosen
    assert f"{SITE}/LiteLLM-1.83.0.dist-info/METADATA" in chosen
    assert not any("/requests" in p for p in chosen)


def test_without_content_the_check_records_why(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "zz_helper.pth", malicious_pth_content(fake_root.marker))
    packs = load_packs()
    host = HostRoot(fake_root.path)
    inventory = collect_inventory(host, collect_spec(packs, host, ScanOptions()))
    result = analyze(inventory, packs, strict=True)
    assert _yara(result) == []
    assert "file/yara" not in result.checks_run
    assert any(g.area == "file/yara" and "no file content" in g.detail for g in result.gaps)


def test_file_over_the_size_cap_is_a_gap(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "zz_helper.pth", malicious_pth_content(fake_root.marker, pad_to=4096))
    result = _scan(fake_root, load_packs(), YaraLimits(max_size=1024, timeout=5))
    assert _yara(result) == []
    gaps = {(g.area, g.path, g.reason) for g in result.gaps}
    assert ("file/yara", f"{SITE}/zz_helper.pth", GapReason.TOO_LARGE) in gaps


def _finding_set(findings: List[Any]) -> Set[Tuple[str, str, Tuple[str, ...], str]]:
    return {
        (f["id"], f["rule"], tuple(f["paths"]), json.dumps(f["evidence"], sort_keys=True))
        for f in findings
        if "/yara/" in f["rule"]
    }


def test_analyze_of_bundle_gives_the_same_yara_findings(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "zz_helper.pth", malicious_pth_content(fake_root.marker))
    fake_root.add_pth(SITE, "paths.pth", "/opt/extra\n")
    files = {"litellm/proxy/proxy_server.py": _payload_py(), "litellm/__init__.py": b""}
    fake_root.add_dist(SITE, "litellm", "1.82.6", files=files)
    fake_root.add_venv("/srv/other/.venv")  # an identical .pth elsewhere shares one evidence copy
    other = "/srv/other/.venv/lib/python3.11/site-packages"
    fake_root.add_pth(other, "zz_helper.pth", malicious_pth_content(fake_root.marker))
    scan = run_cli("scan", "--root", str(fake_root.path), "--output", str(tmp_path / "s"), "--json")
    assert scan.code == 1, scan.err
    scanned = _finding_set(json.loads(scan.out)["findings"])
    assert {r for _, r, _, _ in scanned} == {LOADER_RULE, PAYLOAD_RULE}
    assert len(scanned) == 3
    (bundle,) = (p for p in (tmp_path / "s").iterdir() if p.is_dir())
    analyzed = run_cli("analyze", str(bundle), "--json")
    assert analyzed.code == 1, analyzed.err
    assert _finding_set(json.loads(analyzed.out)["findings"]) == scanned
    assert not fake_root.marker.exists()


def test_evidence_content_serves_copies_by_host_path(fake_root: FakeRoot, tmp_path: Path) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "zz_helper.pth", malicious_pth_content(fake_root.marker))
    outcome = run_scan(ScanOptions(root=fake_root.path, output=tmp_path / "o", strict=True))
    assert outcome.bundle is not None
    content = EvidenceContent.from_bundle(outcome.bundle.directory)
    data = content.read(f"{SITE}/zz_helper.pth", 1 << 20)
    assert data == fake_root.host(f"{SITE}/zz_helper.pth").read_bytes()


def test_yara_max_size_option_reaches_the_check(
    fake_root: FakeRoot, tmp_path: Path, run_cli: RunCli
) -> None:
    fake_root.add_venv(VENV)
    big = _payload_py() + b"#" * (1 << 20) + b"\n"
    fake_root.add_dist(SITE, "litellm", "1.82.6", files={"litellm/proxy/proxy_server.py": big})
    out = tmp_path / "o"
    run = run_cli("scan", "--root", str(fake_root.path), "--output", str(out), "--json")
    assert PAYLOAD_RULE in {f["rule"] for f in json.loads(run.out)["findings"]}
    capped = tmp_path / "capped"
    args = ("--output", str(capped), "--json", "--yara-max-size", "1")
    run = run_cli("scan", "--root", str(fake_root.path), *args)
    assert PAYLOAD_RULE not in {f["rule"] for f in json.loads(run.out)["findings"]}
    (bundle,) = (p for p in capped.iterdir() if p.is_dir())
    gaps = json.loads((bundle / "coverage.json").read_text())["gaps"]
    where = f"{SITE}/litellm/proxy/proxy_server.py"
    assert {"area": "file/yara", "path": where, "reason": "too_large"} in [
        {k: g[k] for k in ("area", "path", "reason")} for g in gaps
    ]


def test_without_yara_python_the_scan_reports_a_gap_not_a_crash(fake_root: FakeRoot) -> None:
    fake_root.add_venv(VENV)
    fake_root.add_pth(SITE, "zz_helper.pth", malicious_pth_content(fake_root.marker))
    program = (
        "import sys\n"
        "sys.modules['yara'] = None  # makes 'import yara' raise ImportError\n"
        "from pathlib import Path\n"
        "from sitesweep.pipeline import ScanOptions, collect_spec, run_scan\n"
        f"outcome = run_scan(ScanOptions(root=Path({str(fake_root.path)!r}), strict=True))\n"
        "result = outcome.result\n"
        "print(result.packs.yara is None)\n"
        "print([g.detail for g in result.gaps if g.area == 'file/yara'])\n"
        "print(sorted({f.rule for f in result.findings}))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-c", program], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    compiled_none, gaps, rules = proc.stdout.splitlines()
    assert compiled_none == "True"
    assert "yara-python cannot be imported" in gaps
    assert "litellm-2026-03/file/litellm-init-pth" not in rules  # renamed: no name indicator
    assert "yara" not in rules
    assert not fake_root.marker.exists()


def test_forged_record_row_outside_the_environment_is_not_a_candidate(
    fake_root: FakeRoot,
) -> None:
    fake_root.add_file("/root/.ssh/id_rsa", "-----BEGIN OPENSSH PRIVATE KEY-----\n", mode=0o600)
    fake_root.add_venv(VENV)
    meta = fake_root.add_dist(SITE, "litellm", "1.83.0")
    with (meta / "RECORD").open("a") as record:
        record.write("../../../../../../root/.ssh/id_rsa,,\n../../../bin/litellm,,\n")
    packs = load_packs()
    host = HostRoot(fake_root.path)
    inventory = collect_inventory(host, collect_spec(packs, host, ScanOptions()))
    chosen = set(yara_candidates(inventory, packs))
    assert f"{VENV}/bin/litellm" in chosen  # a script in the environment's bin/ is the dist's
    assert "/root/.ssh/id_rsa" not in chosen
    assert not any(p.startswith("/root") for p in chosen)


def test_same_bytes_in_many_environments_are_matched_once(fake_root: FakeRoot) -> None:
    """Each copy is still a finding of its own; YARA runs once per distinct content."""
    sites = [f"/home/{u}/app/.venv/lib/python3.11/site-packages" for u in ("a", "b", "c")]
    for site in sites:
        fake_root.add_venv(site.split("/lib/")[0])
        fake_root.add_pth(site, "zz_helper.pth", malicious_pth_content(fake_root.marker))
    packs = load_packs()
    host = HostRoot(fake_root.path)
    inventory = collect_inventory(host, collect_spec(packs, host, ScanOptions()))
    result = analyze(inventory, packs, (YaraRules,), strict=True, content=HostContent(host))
    hits = {p for f in _yara(result) if f.rule == LOADER_RULE for p in f.paths}
    assert hits == {f"{site}/zz_helper.pth" for site in sites}
    check = YaraRules()
    list(check.run(CheckContext(inventory, packs, HostContent(host))))
    assert check.reused == len(sites) - 1
    assert not fake_root.marker.exists()


def test_copies_verified_by_record_are_matched_without_reading_again(
    fake_root: FakeRoot,
) -> None:
    """A targeted release copied into three venvs: RECORD verification hashed every copy, so
    the YARA pass reads the first and answers the other two from their digest; a copy changed
    after verification (its mtime set back) is read again and judged on its new bytes."""
    import os

    sites = [f"/home/{u}/app/.venv/lib/python3.11/site-packages" for u in ("a", "b", "c")]
    helper = {"litellm/__init__.py": b"", "litellm/_helper.py": malicious_pth_content(
        fake_root.marker
    ).encode()}  # fmt: skip
    for site in sites:
        fake_root.add_venv(site.split("/lib/")[0])
        fake_root.add_dist(site, "litellm", "1.83.0", files=helper)
    packs = load_packs()
    host = HostRoot(fake_root.path)
    inventory = collect_inventory(host, collect_spec(packs, host, ScanOptions()))
    assert {c.site_dir for c in inventory.record_checks if c.name == "litellm"} == set(sites)
    changed = fake_root.host(f"{sites[2]}/litellm/_helper.py")
    before = changed.stat()
    changed.write_bytes(b"# harmless now\n".ljust(len(helper["litellm/_helper.py"]), b" "))
    os.utime(changed, ns=(before.st_atime_ns, before.st_mtime_ns))  # same size and mtime
    check = YaraRules()
    found = list(check.run(CheckContext(inventory, packs, HostContent(host))))
    hits = {p for f in found if f.rule == LOADER_RULE for p in f.paths}
    assert hits == {f"{site}/litellm/_helper.py" for site in sites[:2]}
    hashed = {c.verified for c in inventory.record_checks if c.name == "litellm"}
    assert len(hashed) == 1
    # the second and third copies' files come from their digests, but for the changed one
    assert check.unread == 2 * hashed.pop() - 1
    assert not fake_root.marker.exists()
