"""Great Expectations suites, as code, that gate the nightly run; and the runner."""
