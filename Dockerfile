# syntax=docker/dockerfile:1
# TARSy image: build a wheel (and its dependency wheels) in one stage, install them in a slim
# runtime with Node.js (for `npx kubernetes-mcp-server`), run as the non-root user `tarsy`.
#
#   docker build -t tarsy .
#   docker run --env-file tarsy.env -v tarsy-data:/data -v "$PWD/config:/app/config:ro" tarsy
#
# ---------------------------------------------------------------------------- builder
FROM python:3.11-slim AS builder

ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src

# only what the wheel is built from: packaging metadata and the Python packages
COPY pyproject.toml README.md ./
COPY bot/ bot/
COPY agents/ agents/
COPY chains/ chains/
COPY storage/ storage/
COPY config/ config/
COPY devkit/ devkit/

RUN pip wheel --wheel-dir /wheels .

# ---------------------------------------------------------------------------- runtime
FROM python:3.11-slim AS runtime

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# Node.js + npm so stdio MCP servers started with `npx` (kubernetes-mcp-server) can run
RUN apt-get update \
    && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*

COPY --from=builder /wheels /tmp/wheels
RUN pip install --no-index --find-links /tmp/wheels tarsy \
    && rm -rf /tmp/wheels

RUN groupadd --system --gid 10001 tarsy \
    && useradd --system --uid 10001 --gid tarsy --create-home --home-dir /home/tarsy tarsy \
    && mkdir -p /app /data \
    && chown tarsy:tarsy /data

WORKDIR /app
# the shipped defaults; mount your own directory over /app/config
COPY --chown=root:root config/tarsy.yaml config/agents.yaml /app/config/
COPY --chown=root:root config/runbooks/ /app/config/runbooks/

ENV DATABASE_URL=sqlite+aiosqlite:////data/tarsy.db \
    TARSY_HTTP_PORT=8080 \
    HOME=/home/tarsy \
    NPM_CONFIG_UPDATE_NOTIFIER=false
VOLUME ["/data"]

USER tarsy:tarsy
EXPOSE 8080

HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD python -c "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/health' % os.environ.get('TARSY_HTTP_PORT', '8080'), timeout=4)" || exit 1

ENTRYPOINT ["tarsy"]
CMD ["serve", "--config-dir", "/app/config"]
