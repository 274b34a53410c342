"""Fast unit tests that mirror the modules (make check); no model is loaded, no network."""
