# Minimal typing of the regipy API sitesweep uses (regipy's own annotations are partial).
