# The Omnisense gateway: slim, non-root, the `server` extras plus what the shipped policies use
# (deploy/k8s names `aws`): a policy naming another vendor needs its extra here.
#   docker build -f deploy/gateway.Dockerfile -t omnisense-gateway .
#   docker build -f deploy/gateway.Dockerfile --build-arg EXTRAS=server,redis,postgres,aws,google .
# The gateway reads its config from /etc/omnisense/gateway.yaml (mount it; see deploy/config/).
FROM python:3.11-slim AS build
ARG EXTRAS=server,redis,postgres,aws
WORKDIR /src
COPY pyproject.toml README.md ./
COPY omnisense ./omnisense
COPY gateway ./gateway
COPY adapters ./adapters
COPY policies ./policies
RUN python -m venv /opt/omnisense \
    && /opt/omnisense/bin/pip install --no-cache-dir ".[${EXTRAS}]"

FROM python:3.11-slim
COPY --from=build /opt/omnisense /opt/omnisense
RUN useradd --system --uid 10001 --no-create-home --shell /usr/sbin/nologin omnisense
ENV PATH=/opt/omnisense/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    OMNISENSE_CONFIG=/etc/omnisense/gateway.yaml
USER 10001
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["omnisense", "serve", "--host", "0.0.0.0", "--port", "8080"]
