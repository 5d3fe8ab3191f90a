"""Texts built from domain data, in the reader's language. No SQL, no platform."""
