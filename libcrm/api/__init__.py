"""The portal's read API under ``/api/v1/``: a patron's recommendations with titles and
reasons in the reader's language, an item's similar works, the night now served, and what
the portal showed or a reader dismissed. Served beside the workspace (libcrm.server)."""
