# syntax=docker/dockerfile:1
# libcrm's image: Airflow 3 with the library_nightly DAG, dbt, Great Expectations and the
# recommender. docker-compose.yml runs it as the API server, scheduler and DAG processor.
FROM python:3.11-slim

# The Makefile's UV_VERSION: dependencies are installed exactly as `make install` does.
ARG UV_VERSION=0.13.9
# Compose bind-mounts the pseudonym key with its host owner and mode (0600), so the processes
# must run as the uid that owns deploy/pseudonym.key (LIBCRM_UID in deploy/libcrm.env).
ARG LIBCRM_UID=50000

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1

RUN pip install "uv==${UV_VERSION}"

WORKDIR /opt/libcrm

# The lock first, alone: the slow layer is rebuilt only when the pins change.
COPY requirements.lock ./
RUN uv pip install --system -r requirements.lock

COPY pyproject.toml ./
COPY libcrm/ libcrm/
COPY recsys/ recsys/
COPY expectations/ expectations/
COPY dags/ dags/
COPY dbt_project/ dbt_project/
# Editable, as in the Makefile: libcrm finds dbt_project/ and dags/ next to its package
# (libcrm.config.PROJECT_ROOT), which a copy in site-packages would not have.
RUN uv pip install --system --no-deps -e .

ENV AIRFLOW_HOME=/opt/airflow \
    AIRFLOW__CORE__DAGS_FOLDER=/opt/libcrm/dags \
    AIRFLOW__CORE__LOAD_EXAMPLES=False \
    LIBCRM_LANDING_DIR=/srv/libcrm/landing \
    LIBCRM_DATA_DOCS_DIR=/srv/libcrm/data_docs \
    LIBCRM_REPORTS_DIR=/srv/libcrm/reports \
    OPENBLAS_NUM_THREADS=1 \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=False \
    GX_ANALYTICS_ENABLED=False

# Every folder the processes write to belongs to the runtime user; Compose copies this ownership
# into a named volume the first time it is mounted on one of these folders.
RUN useradd --uid "${LIBCRM_UID}" --create-home --shell /usr/sbin/nologin libcrm \
    && mkdir -p "${AIRFLOW_HOME}/logs" "${AIRFLOW_HOME}/auth" \
        "${LIBCRM_LANDING_DIR}" "${LIBCRM_DATA_DOCS_DIR}" "${LIBCRM_REPORTS_DIR}" \
        dbt_project/target dbt_project/logs \
    && chown -R libcrm: "${AIRFLOW_HOME}" /srv/libcrm dbt_project

USER libcrm
CMD ["airflow", "version"]
