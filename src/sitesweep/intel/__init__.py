"""Intelligence on the analyst's side: what outside sources say about what a bundle holds.

Nothing here runs on a suspect host, and nothing here is asked unless the responder names a
source (``analyze --index URL`` or ``--index-snapshot DIR``).
"""

from __future__ import annotations


class ExtraMissing(Exception):  # noqa: N818 - reads as a sentence at the raise site
    """A library of the optional extra ``intel`` (PyMISP, stix2) is not installed."""

    @classmethod
    def needing(cls, library: str, purpose: str) -> ExtraMissing:
        """The error for ``purpose`` lacking ``library``, saying how to install it."""
        return cls(f"{purpose} needs {library}: pip install -r requirements-intel.lock")
