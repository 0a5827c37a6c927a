// The TeamPCP "sysmon" backdoor that litellm 1.82.7/1.82.8 install: a user systemd unit described
// as "System Telemetry Service" running ~/.config/sysmon/sysmon.py, and the script itself, which
// polls checkmarx.zone and keeps its state in /tmp/.pg_state and its download in /tmp/pglog.
// Written for sitesweep from the project's research notes (sections 1.8, 1.10).
// Microsoft's Sysmon for Linux also installs a sysmon.service: it matches neither branch.
// Samples: tests/samples/sysmon_persistence/{match,benign}/.

rule sysmon_persistence
{
    meta:
        id = "litellm-2026-03/sysmon-persistence"
        severity = "critical"
        description = "TeamPCP sysmon backdoor persistence (System Telemetry Service unit or sysmon.py poller) dropped by litellm 1.82.7/1.82.8"
        reference = "https://www.endorlabs.com/learn/teampcp-isnt-done"

    strings:
        $unit_description = "System Telemetry Service"
        $script_path = ".config/sysmon/sysmon.py"
        $unit_path = "systemd/user/sysmon.service"
        $c2_host = "checkmarx.zone"
        $state_file = "/tmp/.pg_state"
        $stage_file = "/tmp/pglog"

    condition:
        filesize < 4MB and (
            ($unit_description and ($script_path or $unit_path)) or
            ($c2_host and ($state_file or $stage_file)) or
            ($script_path and $unit_path)
        )
}
