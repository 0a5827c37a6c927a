"""Intelligence on the analyst's side: what outside sources say about what a bundle holds.

Nothing here runs on a suspect host, and nothing here is asked unless the responder names a
source (``analyze --index URL`` or ``--index-snapshot DIR``).
"""

from __future__ import annotations
