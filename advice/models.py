"""Advice articles arrive with the advice issue; the app is installed so migrations start here."""
