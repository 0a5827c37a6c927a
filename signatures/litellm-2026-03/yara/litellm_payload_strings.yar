// Code of the litellm 1.82.7/1.82.8 payload (TeamPCP): the exfiltration and encryption steps
// together with an indicator specific to this campaign. Written for sitesweep from the strings
// the project's research notes describe (sections 1.6, 1.7, 1.10); no published rule was copied.
// A document that only names the domains does not match: it also needs two of the payload's
// working strings (variable names, openssl options, the names of the encrypted files).
// Samples: tests/samples/litellm_payload_strings/{match,benign}/.

rule litellm_payload_strings
{
    meta:
        id = "litellm-2026-03/payload-strings"
        severity = "critical"
        description = "litellm 1.82.7/1.82.8 credential-stealer code (TeamPCP): campaign indicator plus exfiltration and encryption strings"
        reference = "https://www.endorlabs.com/learn/teampcp-isnt-done"

    strings:
        // Specific to the campaign.
        $id_rsa_key = "MIICIjANBgkqhkiG9w0BAQEFAAOCAg8AMIICCgKCAgEAvahaZDo8mucujrT15ry+"
        $id_exfil_host = "models.litellm.cloud"
        $id_c2_host = "checkmarx.zone"
        $id_archive = "tpcp.tar.gz"
        $id_header = "X-Filename: tpcp.tar.gz" nocase

        // How the payload works.
        $op_harvester = "B64_SCRIPT"
        $op_persist = "PERSIST_B64"
        $op_session_key = "session.key.enc"
        $op_payload = "payload.enc"
        $op_pbkdf2 = "-pbkdf2"
        $op_oaep = "rsa_padding_mode:oaep"

    condition:
        filesize < 16MB and 1 of ($id_*) and 2 of ($op_*)
}
