"""Built-in plugins: field types, operators, segment types and one compiler per target."""
