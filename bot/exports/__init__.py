"""Files built from domain data (calendar, and later Word, Excel, charts): bytes out."""
