"""Privacy duties: right of access, retention and opt-out (see docs/privacy.md)."""
