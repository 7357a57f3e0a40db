# syntax=docker/dockerfile:1
# sugang's image: the web UI built with Node, the app and its dependencies built as wheels,
# then a slim runtime with neither Node nor compilers, running as a non-root user.
# Kubernetes probes /healthz and /readyz, so there is no HEALTHCHECK here.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm
ARG NODE_IMAGE=node:20.18.1-bookworm-slim

FROM ${NODE_IMAGE} AS web
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-fund --no-audit
COPY frontend/ ./
# writes /src/src/sugang/web/dist
RUN npm run build

FROM ${PYTHON_IMAGE} AS wheels
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src/ src/
COPY --from=web /src/src/sugang/web/dist src/sugang/web/dist
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    MALLOC_ARENA_MAX=2 \
    SUGANG_ENVIRONMENT=production \
    SUGANG_HOST=0.0.0.0 \
    SUGANG_PORT=8000 \
    SUGANG_WORKERS=2 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/sugang-metrics
RUN groupadd --system --gid 10001 sugang \
    && useradd --system --uid 10001 --gid sugang --no-create-home --shell /usr/sbin/nologin sugang
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index /wheels/*.whl
USER 10001:10001
EXPOSE 8000 8001 8002
ENTRYPOINT ["sugang"]
CMD ["serve"]
