"""What a family doctor uses on the same bot: the desk, the day's list, broadcasts."""
