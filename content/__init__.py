"""Doorstep content shipped as package data (tips, schedules, district samples, rules)."""
