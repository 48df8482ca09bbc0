"""Delivery, one package: the `Sender` contract each channel implements (sender.py), the outbox
dispatcher, the limiter every send passes, quiet hours, and the scheduled jobs."""
