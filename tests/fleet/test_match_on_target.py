"""Matching on the target: the agent's findings are merged with the controller's YARA (issue 17).

The agent (``collect --match``) runs every check but YARA on the host; the controller verifies
the bundle, takes the host's findings when the packs are its own, adds its YARA over the
evidence the bundle carries, and says when it had to analyse in full instead.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import List

import pytest

from clirun import RunCli
from fleet.fleetlab import Lab, TargetPython, clean_root, infected_root
from sitesweep.fleet.agent_build import build_agent
from sitesweep.fleet.remote import parse_bundle_line
from sitesweep.fleet.summary import summarize
from sitesweep.merge import MERGED
from sitesweep.outcome import Verdict, outcome_of
from sitesweep.packs import builtin_signatures_dir, load_packs
from sitesweep.pipeline import run_analyze

PYTHONS = [
    p
    for p in (
        Path("/usr/bin/python3"),
        *sorted(Path("/root/.pyenv/versions").glob("3.9*/bin/python3")),
    )
    if p.exists()
]


@pytest.fixture(scope="module")
def agent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_agent(tmp_path_factory.mktemp("agent") / "agent.pyz").path


def _agent_bundle(agent: Path, python: Path, root: Path, out: Path, *extra: str) -> Path:
    scratch = out.parent / f"{out.name}-tmp"
    scratch.mkdir()
    command = [str(python), "-I", "-S", str(agent), "collect", "--output", str(out)]
    run = subprocess.run(
        [*command, "--root", str(root), *extra],
        env={"TMPDIR": str(scratch), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr.decode()
    named = parse_bundle_line(run.stdout)
    assert named is not None, run.stdout
    assert list(scratch.iterdir()) == [], "the agent left files behind"
    return out / named[0]


def _ids(findings: object) -> List[str]:
    return sorted(f.id for f in findings)  # type: ignore[attr-defined]


@pytest.mark.parametrize("python", PYTHONS, ids=str)
def test_host_findings_merged_with_controller_yara_equal_a_full_analysis(
    agent: Path, python: Path, tmp_path: Path
) -> None:
    infected = infected_root(tmp_path / "infected")
    archive = _agent_bundle(agent, python, infected.path, tmp_path / "out", "--match")
    assert not infected.marker.exists()
    unpacked = archive.parent / archive.name[: -len(".tar.gz")]
    manifest = json.loads((unpacked / "manifest.json").read_text())
    assert manifest["mode"] == "scan"
    host = json.loads((unpacked / "findings.json").read_text())
    host_rules = {f["rule"] for f in host["findings"]}
    assert "litellm-2026-03/affected/litellm" in host_rules
    assert not [r for r in host_rules if "/yara/" in r], "the pure-Python agent cannot run YARA"

    merged = run_analyze(archive, host_findings=True)
    full = run_analyze(archive)
    assert merged.how == MERGED
    assert _ids(merged.result.findings) == _ids(full.result.findings)
    assert any("/yara/" in f.rule for f in merged.result.findings), "the controller's YARA"
    assert "file/yara" in merged.result.checks_run
    assert sorted((g.area, g.path or "", g.reason) for g in merged.result.gaps) == sorted(
        (g.area, g.path or "", g.reason) for g in full.result.gaps
    )
    assert outcome_of(merged.result).verdict is Verdict.COMPROMISED

    clean = clean_root(tmp_path / "clean")
    clean_archive = _agent_bundle(agent, python, clean.path, tmp_path / "out-clean", "--match")
    judged = run_analyze(clean_archive, host_findings=True)
    assert judged.how == MERGED
    assert outcome_of(judged.result).verdict is Verdict.CLEAN
    assert _ids(judged.result.findings) == _ids(run_analyze(clean_archive).result.findings)


def test_other_packs_altered_bundles_and_observations_are_analysed_here_and_said(
    agent: Path, tmp_path: Path
) -> None:
    infected = infected_root(tmp_path / "infected")
    archive = _agent_bundle(agent, PYTHONS[0], infected.path, tmp_path / "out", "--match")
    unpacked = archive.parent / archive.name[: -len(".tar.gz")]

    # The controller's packs are not the agent's (here: a newer litellm pack alone).
    builtin = builtin_signatures_dir()
    assert builtin is not None
    extra = tmp_path / "extra"
    shutil.copytree(builtin / "litellm-2026-03", extra / "litellm-2026-03")
    toml = extra / "litellm-2026-03" / "pack.toml"
    toml.write_text(toml.read_text().replace('version = "', 'version = "9', 1))
    packs = load_packs((extra,), builtin=False)
    other = run_analyze(archive, packs=packs, host_findings=True)
    assert other.how.startswith("analysed on the controller: the host matched with other packs")
    assert outcome_of(other.result).verdict is Verdict.COMPROMISED
    fleet = summarize((archive,), packs=packs)
    (row,) = fleet.rows
    assert row.verdict == "compromised"
    assert "other packs" in row.judged
    assert "other packs" in row.detail, "the fleet view says the host's findings were not taken"

    # A host (or anyone on the way) that empties its findings without fixing the manifest.
    doc = json.loads((unpacked / "findings.json").read_text())
    doc["findings"] = []
    (unpacked / "findings.json").write_text(json.dumps(doc))
    altered = run_analyze(unpacked, host_findings=True)
    assert "does not verify" in altered.how
    assert "findings.json" in altered.how
    assert outcome_of(altered.result).verdict is Verdict.COMPROMISED

    # Observations only (collect without --match): analysed in full, as before.
    plain = _agent_bundle(agent, PYTHONS[0], infected.path, tmp_path / "out-plain")
    observed = run_analyze(plain, host_findings=True)
    assert observed.how == "analysed on the controller: observations only (not matched on the host)"
    assert outcome_of(observed.result).verdict is Verdict.COMPROMISED


@pytest.mark.ssh
def test_sweep_matches_on_the_target_by_default_and_on_the_controller_when_asked(
    ssh_lab: Lab, target_python: TargetPython, tmp_path: Path, run_cli: RunCli
) -> None:
    infected = infected_root(tmp_path / "infected")
    clean = clean_root(tmp_path / "clean")
    remote_tmp = tmp_path / "remote-tmp"
    remote_tmp.mkdir()
    inventory = tmp_path / "hosts.ini"
    inventory.write_text(
        f"infected sitesweep_root={infected.path} sitesweep_python={target_python.python}\n"
        f"clean sitesweep_root={clean.path} sitesweep_python={target_python.python}\n"
    )
    verdicts = {}
    for where in ("target", "controller"):
        out = tmp_path / f"sweep-{where}"
        run = run_cli(
            "sweep",
            "-i",
            str(inventory),
            "--ssh-config",
            str(ssh_lab.config),
            "--output",
            str(out),
            "--remote-tmp",
            str(remote_tmp),
            "--match-on",
            where,
            "--timeout",
            "120",
        )
        assert run.code == 1, run.err
        hosts = {h["name"]: h for h in json.loads((out / "fleet.json").read_text())["hosts"]}
        verdicts[where] = {name: h["verdict"] for name, h in hosts.items()}
        for host in hosts.values():
            if where == "target":
                assert host["judged"] == MERGED
            else:
                assert host["judged"].startswith("analysed on the controller: observations only")
        assert list(remote_tmp.iterdir()) == []
    assert (
        verdicts["target"]
        == verdicts["controller"]
        == {
            "infected": "compromised",
            "clean": "clean",
        }
    )
    assert not infected.marker.exists()
    assert not target_python.marker.exists()
