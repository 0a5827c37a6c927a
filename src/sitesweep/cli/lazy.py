"""A click group that imports a subcommand's module only when that subcommand is looked up.

Each command module pulls in what its command needs (``scan`` the whole pipeline, ``sweep`` the
fleet transport, ``signatures`` the OSV importer, ``self-check`` ``importlib.metadata``). Importing
them all for every run made ``sitesweep scan`` pay for ``sweep`` and ``--version`` pay for
everything; this group imports only the command that runs (``--help`` still lists them all).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Mapping, Optional

import click

Loader = Callable[[], click.Command]
"""Imports a command's module and returns the command."""


class LazyGroup(click.Group):
    """A :class:`click.Group` whose subcommands are imported by a loader on first lookup.

    Args:
        lazy: command name -> the loader of that command (see ``sitesweep.cli.commands``).
        *args: passed to :class:`click.Group`.
        **kwargs: passed to :class:`click.Group`.
    """

    def __init__(self, *args: Any, lazy: Mapping[str, Loader], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy: Dict[str, Loader] = dict(lazy)

    def list_commands(self, ctx: click.Context) -> List[str]:
        """Return every command name, imported or not, sorted (as click's own group does)."""
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        """Return the command, importing its module on the first lookup."""
        load = self._lazy.get(cmd_name)
        if load is not None and cmd_name not in self.commands:
            self.add_command(load(), cmd_name)
        return super().get_command(ctx, cmd_name)
