"""Channels: each maps its wire format to Incoming and renders Reply."""
