"""`policy-qa bench` with everything stateful on PostgreSQL (issue 15): starts a
throw-away cluster on a free loopback port (Debian's postgresql, as the tests do, but
with fsync on, as a deployment would run), points POLICY_QA_DATABASE_URL at it and runs
the bench command given after `--` (default: the issue's), then stops the cluster.

Usage: .venv/bin/python scripts/bench_postgres.py [-- policy-qa bench ARGS...]
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tests' helpers

from postgres_server import PostgresServer, find_bin  # noqa: E402

DEFAULT = ["bench", "--questions", "300", "--question-set",
           "tests/data/korero-questions.jsonl", "--idle-seconds", "30"]


class DurablePostgres(PostgresServer):
    def _options(self) -> str:  # the tests' cluster without fsync=off
        return super()._options().replace(" -c fsync=off", "")


def main(argv: list[str]) -> int:
    args = argv[argv.index("--") + 1:] if "--" in argv else DEFAULT
    bin_dir = find_bin()
    if bin_dir is None:
        print("PostgreSQL is not installed (apt-get install -y postgresql)", file=sys.stderr)
        return 2
    root = Path(tempfile.mkdtemp(prefix="policy-qa-bench-pg-"))
    server = DurablePostgres(bin_dir, root).start()
    try:
        url = server.create_database()
        env = {**os.environ, "POLICY_QA_DATABASE_URL": url}
        print(f"PostgreSQL on 127.0.0.1:{server.port} (fsync on): {url}", flush=True)
        policy_qa = Path(sys.executable).with_name("policy-qa")
        return subprocess.run([str(policy_qa), *args], env=env, check=False).returncode
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
