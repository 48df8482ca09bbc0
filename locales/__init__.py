"""Doorstep gettext catalogs shipped as package data (.po files, compiled when loaded)."""
