"""Beneficial-ownership statements loaded with ``tenderwatch org load-ownership``: kept by rebuilds.

The table is declared here (``tables.csv`` and ``columns/``) as a group of its own, which rebuilds keep, because
the statements come from files the user loaded, not from the procurement data.
"""
