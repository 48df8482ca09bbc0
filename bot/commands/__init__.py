"""CLI subcommands: each module has `register(subparsers)` and sets `func(args, settings)`."""
