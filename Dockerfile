# syntax=docker/dockerfile:1
# The lexiflow API image: CPU-only torch, the project installed (non-editable) into a venv,
# run as a non-root user. Build: `docker build -t lexiflow:latest .` or `docker compose build`.
# Every model ships as a pip package (see pyproject.toml): nothing is downloaded at run time.
ARG PYTHON_IMAGE=python:3.11-slim

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
RUN python -m pip install --upgrade "pip>=24"

# torch first, from the CPU-only index: on Linux x86_64 PyPI's torch==2.13.0 is the CUDA build
# (several GB of nvidia-* wheels). Fail the build if a CUDA build slipped in anyway.
RUN python -m pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
 && python -c "import torch; assert torch.version.cuda is None, torch.version.cuda; print('torch', torch.__version__)"

WORKDIR /src
# Dependencies in their own layer, keyed on pyproject.toml only (editing code does not reinstall
# spaCy & co.). The torch==2.13.0 pin is already met by 2.13.0+cpu, so pip keeps the CPU build.
COPY pyproject.toml ./
RUN python -c "import tomllib; deps = tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']; open('/tmp/requirements.txt', 'w').write('\n'.join(deps) + '\n')" \
 && python -m pip install -r /tmp/requirements.txt

# The project itself, the same way the Makefile installs it, minus editable mode and test extras.
COPY . .
RUN python -m pip install --no-deps . \
 && python -m pip check \
 && python -c "import torch; assert torch.version.cuda is None" \
 && lexiflow --help > /dev/null
# Optional extras: `docker build --build-arg EXTRAS=ray .` adds Ray (`lexiflow serve-ray`,
# `lexiflow batch --ray-address`); the default image has none.
ARG EXTRAS=""
RUN if [ -n "$EXTRAS" ]; then python -m pip install ".[$EXTRAS]" && python -m pip check \
      && python -c "import torch; assert torch.version.cuda is None"; fi
# GloVe converted once, at build time, into gensim's native format: every container and worker
# memory-maps the same read-only file instead of converting at start.
RUN python -c "from pathlib import Path; from pipelines.embeddings.static import ensure_glove_converted; print(ensure_glove_converted(Path('/opt/lexiflow-cache')))"
# The encoder exported to ONNX (LEXIFLOW_ENCODER_BACKEND=onnx, the default) once, at build time.
RUN LEXIFLOW_CACHE_DIR=/opt/lexiflow-cache lexiflow build-encoder
# The WordNet inventory unpacked once with its record offsets: every worker memory-maps them.
RUN python -c "from pipelines.loading import DEFAULT_WORDNET; from pipelines.wordnet import SenseInventory; SenseInventory.load(DEFAULT_WORDNET, cache_dir='/opt/lexiflow-cache')"

# ---------------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG UID=10001
RUN groupadd --system --gid ${UID} lexiflow \
 && useradd --system --uid ${UID} --gid lexiflow --no-create-home --home-dir /app \
            --shell /usr/sbin/nologin lexiflow
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/lexiflow-cache /opt/lexiflow-cache
WORKDIR /app
# The trained models we ship (classifier, seq2seq, sense calibration, word2vec); docker-compose.yml
# mounts ./artifacts over this read-only, so retrained models need no rebuild.
COPY artifacts /app/artifacts

ENV LEXIFLOW_HOST=0.0.0.0 LEXIFLOW_PORT=8000 LEXIFLOW_ARTIFACTS_DIR=/app/artifacts \
    LEXIFLOW_CACHE_DIR=/opt/lexiflow-cache HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONUNBUFFERED=1
# The root filesystem may be read-only (docker-compose.yml): no bytecode writes, caches go to /tmp.
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 HOME=/tmp XDG_CACHE_HOME=/tmp/.cache \
    HF_HOME=/tmp/huggingface

USER lexiflow:lexiflow
EXPOSE 8000
# No curl in slim: python's urllib. A 503 (still loading) raises HTTPError, so the exit code is 1.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=5 \
  CMD ["python", "-c", "import sys, urllib.request; r = urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=4); sys.exit(0 if r.status == 200 else 1)"]
CMD ["lexiflow", "serve"]
