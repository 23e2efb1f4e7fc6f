"""The package as users get it: a wheel built from the repo, installed into a fresh
virtual environment, runs `policy-qa build` and `ask` on the bundled policy from a folder
outside the repository (package data, entry point, no path into the checkout)."""

from __future__ import annotations

import json
import os
import site
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_wheel_installs_and_answers_from_outside_the_repo(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels), str(ROOT)], check=True, timeout=300)
    wheel = next(wheels.glob("policy_qa-*.whl"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    py = venv / "bin" / "python"
    purelib = subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_path("
                              "'purelib'))"], capture_output=True, text=True, check=True)
    # the dependencies come from this environment's site-packages (offline); the
    # editable install of the checkout there is not activated (its .pth is not read)
    deps = [p for p in {*site.getsitepackages(), sysconfig.get_path("purelib")} if p]
    (Path(purelib.stdout.strip()) / "deps.pth").write_text("\n".join(deps) + "\n")
    subprocess.run([str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-index",
                    str(wheel)], check=True, timeout=300)
    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update(HF_HUB_OFFLINE="1", HOME=str(work), PYTHONPATH="")
    where = subprocess.run([str(py), "-c", "import ui, index; print(ui.__file__, index.__file__)"],
                           cwd=work, env=env, capture_output=True, text=True, check=True)
    assert str(ROOT) not in where.stdout and str(venv) in where.stdout
    cli = venv / "bin" / "policy-qa"
    build = subprocess.run([str(cli), "build", "--out", str(work / "idx")], cwd=work, env=env,
                           capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    ask = subprocess.run([str(cli), "ask", "--index", str(work / "idx"), "--json",
                          "Do you sell my data?"], cwd=work, env=env, capture_output=True,
                         text=True, timeout=300)
    assert ask.returncode == 0, ask.stderr
    answer = json.loads(ask.stdout.splitlines()[0])
    assert answer["resolved"] and answer["passages"][0]["url"].startswith("https://koreroapp.com")
    static = subprocess.run([str(py), "-c", "from ui.web.app import STATIC; "
                             "print((STATIC / 'widget.js').is_file())"], cwd=work, env=env,
                            capture_output=True, text=True, timeout=300)
    assert static.stdout.strip() == "True", static.stderr
