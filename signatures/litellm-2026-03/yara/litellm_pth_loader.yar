// litellm 1.82.8's litellm_init.pth, by shape rather than by name or hash: a .pth line that
// imports subprocess and has a Python child (sys.executable) run exec(base64.b64decode('aW1wb3J0...')).
// "aW1wb3J0" is base64 for "import": the decoded second stage is Python source.
// Written for sitesweep from the behaviour described in the project's research notes (section
// 1.5 and 1.10); it catches a renamed copy and a re-encoded payload that a hash would miss.
// Samples: tests/samples/litellm_pth_loader/{match,benign}/.

rule litellm_pth_loader
{
    meta:
        id = "litellm-2026-03/pth-loader"
        severity = "critical"
        description = "Python start-up loader shaped like litellm 1.82.8's litellm_init.pth: imports subprocess and execs a base64-encoded Python payload"
        reference = "https://github.com/BerriAI/litellm/issues/24521"

    strings:
        // A literal rather than an "import ... subprocess" regex: "import" is in every Python file,
        // and verifying a regex at each occurrence would slow every scan down.
        $subprocess = "subprocess"
        // exec(base64.b64decode('aW1wb3J0 with either quote, optional b prefix or escaped quote.
        $exec_b64 = /exec\(\s*(base64\.)?b64decode\(\s*b?\\?['"]aW1wb3J0/
        // Reported as evidence when present; not required (strings named $_* may go unreferenced).
        $_sys_executable = "sys.executable"
        $_popen = "Popen("

    condition:
        filesize < 4MB and $subprocess and $exec_b64
}
