# The local model server on NVIDIA GPUs. torch's CUDA wheels bring their own CUDA runtime
# and cuDNN (the nvidia-* wheels), so the base stays python:3.11-slim (the Python that
# local_models/requirements.txt is pinned for); the node needs the NVIDIA driver and the
# NVIDIA container runtime. The code picks the device at load time (CUDA when present).
#   docker build -f deploy/model-server.cuda.Dockerfile -t omnisense-models:cuda .
#   docker build -f deploy/model-server.cuda.Dockerfile --build-arg CUDA=cu128 .
FROM python:3.11-slim
ARG CUDA=cu126
ARG TORCH=2.13.0
WORKDIR /app
# torch first, from the CUDA index, into the venv setup.sh then fills: its pin
# (torch==TORCH in requirements.txt) is met by the CUDA build.
RUN python3 -m venv /opt/models \
    && /opt/models/bin/pip install --no-cache-dir --index-url "https://download.pytorch.org/whl/${CUDA}" \
        "torch==${TORCH}+${CUDA}"
COPY local_models/ ./
RUN LOCAL_MODELS_VENV=/opt/models PYTHON=python3 ./setup.sh \
    && rm -rf /var/lib/apt/lists/* /root/.cache/pip
RUN useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin models
ENV PATH=/opt/models/bin:$PATH BENTOML_DO_NOT_TRACK=True HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 \
    BENTOML_HOME=/tmp/bentoml NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10002
EXPOSE 3000
ENTRYPOINT ["bentoml", "serve", "service:LocalModels", "--working-dir", "/app", "--host", "0.0.0.0", "--port", "3000"]
