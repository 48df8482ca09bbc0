"""Fakes of the outside world (the Telegram Bot API), never of our own code."""
