"""NGO webhook endpoints: registration (secrets sealed), delivery in order per endpoint, attempts, the SSRF guard."""
