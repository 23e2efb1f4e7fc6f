"""The `policy-qa` command: one module per command group (see ui/cli/main.py)."""
