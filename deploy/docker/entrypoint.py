"""The image's one entry point: serve, migrate, healthcheck, or dev-secrets, read from the service's [tool.verbinding].

    serve        uvicorn on the service's port (VERBINDING_PORT overrides it) on every interface (VERBINDING_BIND_HOST
                 overrides that), settings from VERBINDING_* variables and the files in VERBINDING_SECRETS_DIR
    migrate      alembic upgrade head, as its own step (a compose service, a Kubernetes Job), never at start-up
    healthcheck  exit 0 when GET /healthz answers 200 (the image's HEALTHCHECK)
    dev-secrets FOLDER NAME:DATABASE...
                 compose only: once, random database passwords and the identity key pair, one folder per service
"""

from __future__ import annotations

import os
import secrets
import sys
import tomllib
import urllib.request
from pathlib import Path

SERVICE_DIR = Path(os.environ.get("VERBINDING_SERVICE_DIR", "/app/service"))
# uvicorn waits this long for open connections (an SSE stream never ends) before the lifespan shutdown runs.
GRACEFUL_SHUTDOWN_S = "5"


def service_table() -> dict[str, object]:
    with (SERVICE_DIR / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["tool"]["verbinding"]


def serve() -> None:
    table = service_table()
    port = os.environ.get("VERBINDING_PORT", str(table["port"]))
    # No access log (paths carry identifiers) and X-Forwarded-For only from the proxies named (none by default).
    host = os.environ.get("VERBINDING_BIND_HOST", "0.0.0.0")
    os.execvp(sys.executable, [
        sys.executable, "-m", "uvicorn", str(table["app"]), "--host", host, "--port", port,
        "--no-access-log", "--forwarded-allow-ips", os.environ.get("VERBINDING_FORWARDED_ALLOW_IPS", ""),
        "--timeout-graceful-shutdown", GRACEFUL_SHUTDOWN_S,
    ])


def migrate() -> None:
    table = service_table()
    if not table.get("alembic"):
        print(f"{SERVICE_DIR.name}: no migrations to run")
        return
    os.execvp(sys.executable, [sys.executable, "-m", "alembic", "-c", str(SERVICE_DIR / str(table["alembic"])),
                               "upgrade", "head"])


def healthcheck() -> int:
    port = os.environ.get("VERBINDING_PORT", str(service_table()["port"]))
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except OSError:
        return 1


def dev_secrets(folder: Path, services: list[str]) -> None:
    """What compose needs and nobody commits: a password per database, and the identity key pair.

    <folder>/<service>/verbinding_database_url is read through VERBINDING_SECRETS_DIR; <folder>/postgres/<db>
    holds the same password for the database's init script, <folder>/postgres/superuser the superuser's.
    Existing files are kept, so a restart changes nothing.
    """
    from verbinding_common.auth import generate_signing_key

    postgres = folder / "postgres"
    postgres.mkdir(parents=True, exist_ok=True)
    # The PostgreSQL image runs as a user of its own: its files are readable by all, in its own mount only.
    _write_once(postgres / "superuser", secrets.token_urlsafe(24), mode=0o444)
    private_pem, public_pem = generate_signing_key()
    for item in services:
        name, database = item.split(":", 1)
        own = folder / name
        own.mkdir(exist_ok=True)
        password_file = postgres / database
        _write_once(password_file, secrets.token_urlsafe(24), mode=0o444)
        url = f"postgresql://{database}:{password_file.read_text()}@postgres:5432/{database}"
        _write_once(own / "verbinding_database_url", url)
        _write_once(own / "identity.pub", public_pem)
        if name == "gateway":
            _write_once(own / "identity.key", private_pem)
    public_keys = {(folder / item.split(":", 1)[0] / "identity.pub").read_text() for item in services}
    if len(public_keys) != 1:
        raise SystemExit(f"{folder}: services hold different identity keys; remove the folder's volume and retry")


def _write_once(path: Path, text: str, mode: int = 0o400) -> None:
    if not path.exists():
        path.write_text(text)
        path.chmod(mode)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command == "serve":
        serve()
    elif command == "migrate":
        migrate()
    elif command == "healthcheck":
        return healthcheck()
    elif command == "dev-secrets" and len(argv) > 2:
        dev_secrets(Path(argv[1]), argv[2:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
