"""The catalogues of Kolekt's replies (one ``.po`` per language) and their tools:
``python -m sms.locale extract|update|compile|stats`` (``sms.catalogues``)."""
