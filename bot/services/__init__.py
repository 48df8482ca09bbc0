"""Domain services: plain dataclasses in and out, no chat-library types."""
