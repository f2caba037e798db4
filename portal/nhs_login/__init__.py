"""NHS login (OpenID Connect), as an allauth provider of its own: see `views`."""
