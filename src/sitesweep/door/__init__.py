"""Backends of the host door: what :class:`~sitesweep.hostfs.HostRoot` reads a host through."""
