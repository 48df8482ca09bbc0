"""The bottom floor: records and vocabularies every layer may import.

Frozen dataclasses and enums only, importing nothing but the standard library. Times are
timezone-aware datetimes; storage converts them to and from its column types.
"""
