"""gettext catalogs (.po); compiled in memory when first used, so no build step is needed."""
