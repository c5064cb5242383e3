"""Reading, validating and describing trade data and code tables."""
