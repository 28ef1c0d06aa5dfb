"""The Parquet archive: schema, ingest, manifests, reading and export (see DESIGN.md, "The archive")."""
