# One image for central and the ward gateway (docker-compose.yml picks the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY pyproject.toml README.md ./
COPY protocol ./protocol
COPY firmware ./firmware
COPY edge_nodes ./edge_nodes
COPY gateway ./gateway
COPY central ./central
COPY simulations ./simulations
COPY benchmarks ./benchmarks
COPY floodmesh ./floodmesh
RUN pip install . \
    && useradd --system --create-home --groups dialout floodmesh \
    && mkdir -p /data \
    && chown floodmesh /data

USER floodmesh
VOLUME ["/data"]
EXPOSE 8080
CMD ["floodmesh", "--help"]
