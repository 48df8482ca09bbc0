"""The one delivery path for everything sent later: outbox rows, rate limits, quiet hours."""
