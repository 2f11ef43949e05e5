# The hub's image, installed from pyproject.toml like any wheel (never the checkout's .venv, var/).
#
#   docker build -t comms-hub .                      # the worker and the `hub` command (default)
#   docker build -t comms-hub-dev --target devstack .   # + the mail catcher and Bot API sandbox
#
# Stages: build (a virtualenv with the hub and its compiled catalogs), runtime (that virtualenv on a
# clean base, as an unprivileged user), devstack (runtime + devstack/ and aiosmtpd, for
# docker-compose.yml's local stand-ins), hub (the runtime, last so that it is the default target).
# Only named files and folders are copied; .dockerignore keeps the rest out of the context.

FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PATH=/opt/venv/bin:$PATH
RUN python -m venv /opt/venv

WORKDIR /src
COPY pyproject.toml setup.py MANIFEST.in LICENSE README.md ./
COPY hub/ hub/
COPY channels/ channels/
COPY schemas/ schemas/
COPY templates/ templates/
# devstack/ is not installed (pyproject.toml leaves it out of the wheel): here only for its
# catalog compiler.
COPY devstack/ devstack/

# The wheel carries schemas/ and templates/ as hub/_data (setup.py). The translation catalogs are
# compiled from their .po files and put beside them: a .mo at least as new as its .po is read as it
# is, anything else is compiled in memory at every start (hub/i18n/catalogs.py).
RUN pip install --no-cache-dir . \
 && python -m devstack.catalogs compile \
 && data="$(cd / && python -c 'import hub.settings as s; print(s.DATA_ROOT)')" \
 && test "$data" != /src \
 && cd templates \
 && find . -name '*.mo' -exec cp --parents {} "$data/templates/" \; \
 && test -n "$(find "$data/templates/_locale" -name '*.mo')"


FROM python:3.11-slim AS runtime

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HUB_DATA_DIR=/var/lib/hub \
    HUB_WEB__HOST=0.0.0.0 \
    HUB_WEB__PORT=6066 \
    HUB_NEWSLETTERS_FILE=/etc/hub/newsletters.yaml

# The worker's local state (RocksDB tables, rebuilt from Kafka if lost) goes in /var/lib/hub: give
# each worker a volume of its own there (docker-compose.yml and deploy/k8s do). Newsletters come
# from a file mounted over /etc/hub/newsletters.yaml (none without one).
RUN groupadd --system --gid 10001 hub \
 && useradd --system --uid 10001 --gid hub --home-dir /var/lib/hub --shell /usr/sbin/nologin hub \
 && mkdir -p /var/lib/hub /etc/hub \
 && printf 'newsletters: []\n' > /etc/hub/newsletters.yaml \
 && chown hub:hub /var/lib/hub

COPY --from=build /opt/venv /opt/venv

WORKDIR /var/lib/hub
USER hub
EXPOSE 6066

# Exit 0 once the worker's HTTP server answers; HUB_WEB__PORT moves it.
HEALTHCHECK --interval=15s --timeout=5s --start-period=60s --retries=4 \
  CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/api/v1/health' % os.environ.get('HUB_WEB__PORT', '6066'), timeout=4)"]

CMD ["hub", "worker"]


# The local stand-ins of docker-compose.yml: `python -m devstack.mailcatcher` and
# `python -m devstack.telegram_sandbox`. Never for production.
FROM runtime AS devstack

USER root
# aiosmtpd: the mail catcher's server, a dev extra of pyproject.toml (the same requirement).
RUN pip install --no-cache-dir "aiosmtpd>=1.4.6,<2" \
 && mkdir -p /var/lib/devstack/outbox/email /var/lib/devstack/outbox/telegram \
 && chown -R hub:hub /var/lib/devstack
COPY --chown=root:root devstack/ /opt/devstack/devstack/
ENV PYTHONPATH=/opt/devstack
WORKDIR /var/lib/devstack
USER hub
HEALTHCHECK NONE
CMD ["python", "-m", "devstack.mailcatcher", "--host", "0.0.0.0", "--port", "1025", \
     "--outbox", "/var/lib/devstack/outbox/email"]


FROM runtime AS hub
