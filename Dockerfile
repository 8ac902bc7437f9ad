# syntax=docker/dockerfile:1
# Journeyboard: the API server in a slim image, runtime dependencies pinned with hashes.
# Configuration is by environment variable only (README "Configuration").

FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /venv
WORKDIR /src
COPY requirements.lock ./
RUN /venv/bin/pip install --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY schemas ./schemas
COPY server ./server
COPY client_sdk ./client_sdk
# The build backend comes from the lock too: nothing unpinned is downloaded.
RUN /venv/bin/pip install --no-deps --no-build-isolation .

# The test suite against a real MongoDB (compose profile "test"): not the shipped image.
FROM build AS test
COPY requirements-dev.lock ./
RUN /venv/bin/pip install --require-hashes --no-deps -r requirements-dev.lock
COPY tests ./tests
COPY bench ./bench
ENTRYPOINT ["/venv/bin/python", "-m", "pytest", "-q"]

FROM python:3.11-slim AS runtime
RUN useradd --system --uid 10001 --home-dir /data --shell /usr/sbin/nologin journeyboard \
    && install -d -o journeyboard -g journeyboard -m 0700 /data
COPY --from=build /venv /venv
ENV PATH=/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HOST=0.0.0.0 \
    PORT=8000 \
    JOURNEYBOARD_DATA=/data \
    JOURNEYBOARD_LOG_FORMAT=json
USER journeyboard
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["journeyboard", "healthcheck"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["journeyboard"]
CMD ["serve"]
