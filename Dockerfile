# Big D flows image: the same code the local demo runs, for Prefect work pools (ECS, Kubernetes,
# Docker). Not built in CI here (no Docker engine on this machine); roadmap step 8 lints and tests it.
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PREFECT_SERVER_ANALYTICS_ENABLED=false \
    BIGD_PROFILE=aws

WORKDIR /opt/bigd
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

COPY flows/ flows/
COPY notebooks/ notebooks/
COPY deployments/ deployments/
COPY prefect.yaml pyproject.toml ./

RUN useradd --create-home --uid 10001 bigd
USER bigd

ENTRYPOINT ["python", "-m", "flows"]
CMD ["--help"]
