"""``alertmesh webhook-key add FILE SOURCE...``: generate an API key for the webhook bridge, add its SHA-256 for
each source to the credentials file (creating it, 0600, if needed) and print the key: the only time it is shown.

Only ``services.webhook.credentials`` is loaded (YAML and pydantic), never the web framework, so this works
wherever the credentials file is kept.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

NAME = "webhook-key"
HELP = "manage the webhook bridge's API keys: `add FILE SOURCE...` generates one and adds its hash to FILE"
NEEDS_SETUP = False  # it edits one file and prints the key


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="webhook_key_command", required=True)
    adding = actions.add_parser("add", help="generate an API key and add its SHA-256 for the sources")
    adding.add_argument("file", type=Path, metavar="FILE", help="the webhook credentials file (created if missing)")
    adding.add_argument("sources", nargs="+", metavar="SOURCE", help="the sources (webhook paths) it may post as")


def run(args: argparse.Namespace) -> int:
    """Print a new key after adding its hash for the sources to the file; 1 (file unchanged) when it cannot."""
    import yaml
    from pydantic import ValidationError

    from services.webhook.credentials import add_key, new_key

    key = new_key()
    try:
        add_key(args.file, args.sources, key)
    except (ValidationError, yaml.YAMLError, OSError) as error:
        print(f"{args.file}: not changed: {error}", file=sys.stderr)
        return 1
    print(key)
    print(f"added for {', '.join(args.sources)} in {args.file}; the key is shown only now", file=sys.stderr)
    return 0
