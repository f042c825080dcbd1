"""Human review of a store before release: a local review page (server), a self-contained static
page, and the pure helpers they share (caption highlighting, sample cards, filters)."""
