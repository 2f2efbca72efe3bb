"""mirror: turn a site into a Tor-friendly static mirror that readers can read without a clickstream."""
