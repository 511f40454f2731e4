# syntax=docker/dockerfile:1
# One image per service from one file: docker build --build-arg SERVICE=intake -t verbinding/intake .
# Only the hash-checked runtime lock, the runtime library and that service go in; it runs as user 10001 and
# writes nothing outside /tmp, so it works with a read-only root filesystem.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm@sha256:86adf8dbadc3d6e82ee5dd2c74bec2e1c2467cdad47886280501df722372d2e1

FROM ${PYTHON_IMAGE} AS dependencies
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY requirements-runtime.lock /tmp/requirements-runtime.lock
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --require-hashes --no-deps -r /tmp/requirements-runtime.lock

FROM ${PYTHON_IMAGE}
ARG SERVICE
RUN test -n "${SERVICE}" || (echo "build with --build-arg SERVICE=<folder under services/>" >&2; exit 1) \
 && groupadd --system --gid 10001 verbinding \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin verbinding \
 && mkdir -p /var/lib/verbinding/secrets && chown 10001:10001 /var/lib/verbinding/secrets
COPY --from=dependencies /opt/venv /opt/venv
COPY libs/common/src /app/libs/common/src
COPY services/${SERVICE} /app/service
COPY deploy/docker/entrypoint.py /app/entrypoint.py
# Compiled now: at run time the root filesystem may be read-only.
RUN python -m compileall -q /app
ENV PATH=/opt/venv/bin:${PATH} \
    PYTHONPATH=/app/service:/app/libs/common/src \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    VERBINDING_SERVICE_DIR=/app/service \
    VERBINDING_SERVICE_NAME=${SERVICE}
USER 10001:10001
WORKDIR /app
HEALTHCHECK --interval=10s --timeout=4s --start-period=30s --retries=3 CMD ["python", "/app/entrypoint.py", "healthcheck"]
ENTRYPOINT ["python", "/app/entrypoint.py"]
CMD ["serve"]
