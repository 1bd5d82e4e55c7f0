"""What every page and the API share: security headers and request checks, rate limits,
error pages (the 503 of a database outage among them), and what templates can use."""
