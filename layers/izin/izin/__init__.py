"""izin: the shared package (Lambda layer) of the Izin Perluasan workflow."""
