"""Database layer: engine and dialect quirks, the schema as data, DDL, introspection, migration."""
