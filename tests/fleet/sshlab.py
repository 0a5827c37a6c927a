"""Real OpenSSH servers on loopback for the fleet tests: keys per run, one sshd per "host".

Every sshd is started by the tests as a subprocess (``/usr/sbin/sshd -D -e -f CONFIG``) on
127.0.0.1 with a free port, its own config, pid file and host key in a temp dir, accepting only
the client key generated for this run. Nothing outside the temp dir is touched except
``/run/sshd`` (the privilege-separation directory Debian's sshd requires).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

SSHD = "/usr/sbin/sshd"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path) -> Path:
    """Make an ed25519 key pair without passphrase at ``path``."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "sitesweep-test", "-f", str(path)],
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return path


def _wait_listening(port: int, proc: subprocess.Popen[bytes], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd on port {port} exited with {proc.returncode}")
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"sshd on port {port} did not start listening")


@dataclass
class SshLab:
    """A set of loopback sshd "hosts" and a client ssh config that reaches them by alias."""

    base: Path
    client_key: Path
    wrong_key: Path
    host_key: Path
    servers: Dict[str, int] = field(default_factory=dict)
    procs: List[subprocess.Popen[bytes]] = field(default_factory=list)
    aliases: List[str] = field(default_factory=list)

    @classmethod
    def create(cls, base: Path) -> SshLab:
        """Generate the keys for this run in ``base``."""
        base.mkdir(parents=True, exist_ok=True)
        base.chmod(0o700)
        lab = cls(
            base,
            keygen(base / "client_key"),
            keygen(base / "wrong_key"),
            keygen(base / "host_key"),
        )
        shutil.copy(base / "client_key.pub", base / "authorized_keys")
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        return lab

    def start_server(self, name: str) -> int:
        """Start one sshd named ``name``; return its port."""
        port = free_port()
        config = self.base / f"sshd_{name}.conf"
        config.write_text(
            "\n".join(
                [
                    "ListenAddress 127.0.0.1",
                    f"Port {port}",
                    f"HostKey {self.host_key}",
                    f"AuthorizedKeysFile {self.base / 'authorized_keys'}",
                    "StrictModes no",
                    "UsePAM no",
                    f"PidFile {self.base / f'sshd_{name}.pid'}",
                    "PasswordAuthentication no",
                    "KbdInteractiveAuthentication no",
                    "PubkeyAuthentication yes",
                    "PermitRootLogin prohibit-password",
                    "Subsystem sftp internal-sftp",
                    "MaxStartups 100:30:200",
                    "MaxSessions 50",
                    "LogLevel ERROR",
                    "",
                ]
            )
        )
        log = (self.base / f"sshd_{name}.log").open("ab")
        proc = subprocess.Popen(
            [SSHD, "-D", "-e", "-f", str(config)], stdout=log, stderr=log, stdin=subprocess.DEVNULL
        )
        log.close()
        self.procs.append(proc)
        _wait_listening(port, proc)
        self.servers[name] = port
        return port

    def ssh_config(self, entries: Dict[str, Dict[str, str]]) -> Path:
        """Write a client config with one ``Host`` block per alias (plus common settings)."""
        lines = []
        for alias, settings in entries.items():
            lines.append(f"Host {alias}")
            merged = {
                "HostName": "127.0.0.1",
                "User": "root",
                "IdentityFile": str(self.client_key),
                "IdentitiesOnly": "yes",
                "IdentityAgent": "none",
                "UserKnownHostsFile": str(self.base / "known_hosts"),
                "StrictHostKeyChecking": "accept-new",
                "LogLevel": "ERROR",
                **settings,
            }
            lines.extend(f"  {key} {value}" for key, value in merged.items())
        path = self.base / "ssh_config"
        path.write_text("\n".join(lines) + "\n")
        return path

    def stop(self) -> None:
        """Kill every sshd this lab started."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def sshd_missing_reason() -> Optional[str]:
    """Why the ssh tests cannot run here (``None`` when they can)."""
    for tool in (SSHD, shutil.which("ssh"), shutil.which("scp"), shutil.which("ssh-keygen")):
        if tool is None or not Path(tool).exists():
            return "OpenSSH server/client not installed (apt-get install openssh-server)"
    if os.geteuid() != 0:
        return "sshd on loopback as several hosts needs root (CI runs as root)"
    return None
