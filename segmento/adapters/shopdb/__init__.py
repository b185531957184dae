"""Import a shop's customers, products and orders straight from its own SQL database.

A mapping file (``mapping_file``) names the shop's tables and columns, and
``introspect`` checks it against the live schema. ``copy`` then copies the rows into the
workspace's event and order tables, in full the first time and by watermark afterwards.
"""
