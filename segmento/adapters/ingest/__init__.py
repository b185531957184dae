"""Importers of orders and tracked events from files, and the tables they fill."""
