"""Doorstep (家门口健康): a chat front door to community health services."""

__version__ = "0.1.0"
