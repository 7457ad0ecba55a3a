# Big D flows image: the code a process worker runs from a checkout, for container work
# pools (Docker, ECS, Kubernetes). Docker does not run on the project's CI machine: the
# tests lint this file (hadolint) and check that it copies what the flows and notebooks
# need; the build itself is verified where Docker runs (deployments/README.md).
FROM python:3.11.7-slim-bookworm

# No secret here: credentials come from Prefect blocks or the worker's environment.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    BIGD_HOME=/opt/bigd \
    BIGD_PROFILE=aws \
    PYTHONPATH=/opt/bigd \
    PREFECT_SERVER_ANALYTICS_ENABLED=false

WORKDIR /opt/bigd

# The repo's pinned requirements, then the notebooks' kernel (papermill's "python3").
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt \
    && python -m ipykernel install --sys-prefix --name python3

COPY prefect.yaml pyproject.toml ./
COPY deployments/ deployments/
COPY notebooks/ notebooks/
COPY flows/ flows/

# The project itself, for the `bigd` command (README "Command line"). --no-deps: its
# dependencies are requirements.txt's pins, installed above. The code still runs from
# /opt/bigd (PYTHONPATH), the folder prefect.yaml's pull step changes to; setuptools'
# in-tree build leftovers are removed.
RUN pip install --no-cache-dir --no-deps . \
    && rm -rf build bigd.egg-info \
    && bigd --help > /dev/null

# Flow runs write only to the lake and the warehouse; the home folder takes caches.
RUN groupadd --gid 10001 bigd \
    && useradd --create-home --uid 10001 --gid 10001 --shell /usr/sbin/nologin bigd
USER 10001:10001

# Work pools run `prefect flow-run execute` in this image: no ENTRYPOINT to get in the way.
HEALTHCHECK --interval=5m --timeout=30s --start-period=30s \
    CMD ["python", "-c", "import flows.pipeline"]
CMD ["bigd", "--help"]
