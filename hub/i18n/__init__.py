"""The languages the hub speaks: tags and fallback chains, translation catalogs, locale formats."""
