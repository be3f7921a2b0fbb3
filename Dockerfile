# sessionbook: one image for the server, `sessionbook migrate` and `sessionbook sweep`.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/sessionbook && /opt/sessionbook/bin/pip install .

FROM python:3.11-slim
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
