"""A tiny service for the stack tests: it is alive, tells its environment, and can die on request."""

import os

from fastapi import FastAPI

app = FastAPI()


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/environment")
def environment() -> dict[str, str]:
    variables = {name: value for name, value in os.environ.items() if name.startswith("VERBINDING_")}
    return {**variables, "PID": str(os.getpid())}


@app.post("/crash")
def crash() -> None:
    os._exit(3)
