# sessionbook: one image for the server, `sessionbook migrate` and `sessionbook sweep`.
# Dependencies come from uv.lock. BASE_IMAGE is any image with python3 (3.11) and its venv
# module: python:3.11-slim by default; deploy/build-image.sh passes a Debian bookworm base.
ARG BASE_IMAGE=python:3.11-slim

FROM ${BASE_IMAGE} AS build
ARG PYTHON=python3
ARG UV_VERSION=0.13.9
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/sessionbook
WORKDIR /build
# A network that inspects TLS has its own certificate authority: pass the machine's bundle as
# the optional build secret `ca-certificates` (deploy/build-image.sh does); it is never stored
# in a layer. Without it the base image's own certificates are used.
# The dependencies first, in their own layer: a change to src/ alone reuses it.
COPY pyproject.toml uv.lock ./
RUN --mount=type=secret,id=ca-certificates \
    if [ -s /run/secrets/ca-certificates ]; then \
        export SSL_CERT_FILE=/run/secrets/ca-certificates PIP_CERT=/run/secrets/ca-certificates; \
    fi \
    && ${PYTHON} -m venv /opt/uv \
    && /opt/uv/bin/pip install --quiet "uv==${UV_VERSION}" \
    && /opt/uv/bin/uv sync --frozen --no-dev --no-install-project --python "${PYTHON}"
COPY README.md ./
COPY src ./src
RUN --mount=type=secret,id=ca-certificates \
    if [ -s /run/secrets/ca-certificates ]; then \
        export SSL_CERT_FILE=/run/secrets/ca-certificates; \
    fi \
    && /opt/uv/bin/uv sync --frozen --no-dev --no-editable --python "${PYTHON}"

FROM ${BASE_IMAGE}
ENV PATH=/opt/sessionbook/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN groupadd --system sessionbook \
    && useradd --system --gid sessionbook --home-dir /app --shell /usr/sbin/nologin sessionbook \
    && mkdir /app && chown sessionbook:sessionbook /app
COPY --from=build /opt/sessionbook /opt/sessionbook
WORKDIR /app
USER sessionbook
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["sessionbook", "serve", "--host", "0.0.0.0", "--port", "8000"]
