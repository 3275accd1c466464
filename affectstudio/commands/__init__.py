"""One module per `affectstudio` subcommand: `add_parser(subparsers)` and `run(args) -> exit code`."""
