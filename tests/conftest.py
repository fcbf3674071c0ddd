from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SHARED = Path(__file__).resolve().parents[1].parent / "shared"
CORPUS = SHARED / "corpus" / "set-of-emails"


def require_program(name: str, why: str) -> str:
    """The path of a system program a test needs; skip without it (fail under CI=true)."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed ({why}); .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


def require_shared() -> Path:
    if not (CORPUS / "labels.jsonl").exists():
        pytest.skip("../shared/corpus is not present beside this checkout")
    return CORPUS


def require_server(message: str) -> None:
    """Skip a test whose system server is missing; under CI=true that is a failure."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _postgres_bindir() -> Path | None:
    for cand in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (cand / "initdb").exists() and (cand / "postgres").exists():
            return cand
    return None


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def postgres_url():
    """A real PostgreSQL server on loopback, started for the test session."""
    import subprocess
    import tempfile

    bindir = _postgres_bindir()
    if bindir is None:
        require_server("PostgreSQL server is not installed (Debian package postgresql); .ci/run installs it")
    assert bindir is not None
    base = Path(tempfile.mkdtemp(prefix="bc-pg-"))
    prefix: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root: run the server as the postgres user
        import pwd

        try:
            pw = pwd.getpwnam("postgres")
        except KeyError:
            require_server("running as root and there is no postgres user to run the server")
        os.chown(base, pw.pw_uid, pw.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data = base / "data"
    port = _free_port()
    subprocess.run([*prefix, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-sync"], check=True, capture_output=True)
    subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(base / "log"), "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                       capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def moto_endpoint():
    """moto in server mode on loopback: a real HTTP endpoint that boto3 talks to."""
    import subprocess
    import sys
    import time
    import urllib.request

    exe = shutil.which("moto_server")
    cmd = [exe] if exe else [sys.executable, "-m", "moto.server"]
    deadline = time.monotonic() + 30
    started = False
    while not started:
        # the free port may be taken between the probe and moto binding it: then start again
        port = _free_port()
        proc = subprocess.Popen([*cmd, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        url = f"http://127.0.0.1:{port}"
        while True:
            try:
                urllib.request.urlopen(url + "/moto-api/", timeout=1).read()
                started = True
                break
            except OSError:
                if time.monotonic() > deadline:
                    proc.kill()
                    pytest.fail("moto_server did not start (pip install 'moto[server]')")
                if proc.poll() is not None:
                    break
                time.sleep(0.2)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def aws_env(monkeypatch, moto_endpoint):
    """Credentials and region for boto3 against moto; never real AWS."""
    for k, v in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
                 "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": moto_endpoint}.items():
        monkeypatch.setenv(k, v)
    return moto_endpoint
