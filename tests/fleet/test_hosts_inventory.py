"""Host specs, host files and Ansible inventories (INI and YAML) into sweep hosts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sitesweep.fleet.hosts import Host, HostListError, parse_host_spec, read_host_file
from sitesweep.fleet.inventory_parse import expand_range, read_inventory
from sitesweep.fleet.yamlish import parse_yaml


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("web1", Host("web1", "web1")),
        ("deploy@web1", Host("deploy@web1", "web1", "deploy")),
        ("deploy@10.0.0.5:2222", Host("deploy@10.0.0.5:2222", "10.0.0.5", "deploy", 2222)),
        ("[::1]:2200", Host("[::1]:2200", "::1", None, 2200)),
    ],
)
def test_host_spec(spec: str, expected: Host) -> None:
    assert parse_host_spec(spec) == expected


@pytest.mark.parametrize("spec", ["", "a b", "-oProxyCommand=x", "user@", "host:port"])
def test_bad_host_spec(spec: str) -> None:
    with pytest.raises(HostListError):
        parse_host_spec(spec)


def test_host_file_skips_comments_and_names_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "hosts"
    good.write_text("# fleet\nweb1\n\nroot@db1:2222  # primary\n")
    assert [h.name for h in read_host_file(good)] == ["web1", "root@db1:2222"]
    bad = tmp_path / "bad"
    bad.write_text("web1\nnot a host\n")
    with pytest.raises(HostListError, match=":2:"):
        read_host_file(bad)


def test_range_expansion_keeps_padding() -> None:
    assert expand_range("web[01:03].example") == ["web01.example", "web02.example", "web03.example"]
    assert expand_range("db[8:10]") == ["db8", "db9", "db10"]


INI = """\
standalone ansible_host=10.0.0.1 ansible_port=2200
[web]
web[01:02] ansible_user=deploy
web03 sitesweep_root="/mnt/images/web 3"
[web:vars]
sitesweep_root=/mnt/web
[prod:children]
web
[prod:vars]
sitesweep_root=/mnt/prod
ansible_user=ops
ansible_python_interpreter=/opt/py/bin/python3
[all:vars]
ansible_user=root
"""


def test_ini_inventory_precedence(tmp_path: Path) -> None:
    path = tmp_path / "hosts.ini"
    path.write_text(INI)
    hosts = {h.name: h for h in read_inventory(path)}
    assert hosts["standalone"] == Host("standalone", "10.0.0.1", "root", 2200)
    # host var > child group (web) > parent group (prod) > all
    assert hosts["web01"] == Host(
        "web01", "web01", "deploy", None, "/mnt/web", "/opt/py/bin/python3"
    )
    assert hosts["web03"].user == "ops"
    assert hosts["web03"].root == "/mnt/images/web 3"
    assert [h.name for h in read_inventory(path, ("prod",))] == ["web01", "web02", "web03"]
    assert [h.name for h in read_inventory(path, ("standalone",))] == ["standalone"]


YAML = """\
---
all:
  vars:
    ansible_user: root  # everyone
  hosts:
    lone.example:
  children:
    web:
      hosts:
        web[1:2]:
          ansible_port: 2201
        web3:
          ansible_host: "10.1.1.3"
          sitesweep_root: '/srv/container/rootfs'
      vars:
        sitesweep_python: /usr/bin/python3.12
    db:
      hosts:
        db1: {}
"""


def test_yaml_inventory(tmp_path: Path) -> None:
    path = tmp_path / "hosts.yml"
    path.write_text(YAML)
    hosts = {h.name: h for h in read_inventory(path)}
    assert set(hosts) == {"lone.example", "web1", "web2", "web3", "db1"}
    assert hosts["web1"] == Host("web1", "web1", "root", 2201, None, "/usr/bin/python3.12")
    assert hosts["web3"].address == "10.1.1.3"
    assert hosts["web3"].root == "/srv/container/rootfs"
    assert hosts["db1"] == Host("db1", "db1", "root")
    assert [h.name for h in read_inventory(path, ("db",))] == ["db1"]


@pytest.mark.parametrize(
    "text",
    ["all:\n  hosts:\n    - web1\n", "all:\n\thosts:\n", "all:\n  hosts: [a, b]\n", "a:\n b\n"],
)
def test_yaml_outside_the_subset_is_an_error(text: str) -> None:
    with pytest.raises(HostListError):
        parse_yaml(text)


def test_bad_port_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "hosts"
    path.write_text("web1 ansible_port=ssh\n")
    with pytest.raises(HostListError, match="ansible_port"):
        read_inventory(path)
