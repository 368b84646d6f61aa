"""The librarians' workspace: a web application on the warehouse (``python -m libcrm serve``)."""
