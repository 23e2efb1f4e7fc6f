"""`policy-qa console-hash NAME`: a `name:pbkdf2_sha256$...` entry for
POLICY_QA_CONSOLE_USERS, so no plain password needs to sit in the environment.

The password is read without echo from the terminal (asked twice), or as the first
line of stdin when stdin is not a terminal.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from typing import Any

from index.errors import ConfigError
from ui.web.console.auth import (
    DEFAULT_ITERATIONS,
    MIN_ITERATIONS,
    check_password_strength,
    hash_password,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "console-hash", help="hash a console password for POLICY_QA_CONSOLE_USERS")
    parser.add_argument("name", help="the agent's sign-in name")
    parser.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS,
                        help=f"PBKDF2 iterations (default {DEFAULT_ITERATIONS})")
    parser.set_defaults(handler=cmd_console_hash)


def _read_password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    try:
        first = getpass.getpass("password: ")
        again = getpass.getpass("again: ")
    except EOFError:  # Ctrl-D at the prompt
        raise ConfigError("no password given (input ended)") from None
    if first != again:
        raise ConfigError("the two passwords differ")
    return first


def cmd_console_hash(args: argparse.Namespace, settings: Any) -> int:  # noqa: ARG001
    name = args.name.strip()
    if not name or any(c.isspace() or c in ",:" for c in name):
        raise ConfigError(f"name must be non-empty without spaces, ',' or ':'; got {name!r}")
    if args.iterations < MIN_ITERATIONS:
        raise ConfigError(f"iterations must be at least {MIN_ITERATIONS}. Currently, "
                          f"iterations is {args.iterations}")
    password = _read_password()
    check_password_strength(name, password)
    print(f"{name}:{hash_password(password, iterations=args.iterations)}")
    return 0
