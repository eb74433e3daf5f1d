# syncd as a container: `docker build -t syncd .` then
#   docker run -e SYNCD_SALESFORCE__LOGIN_URL=... -e SYNCD_SALESFORCE__CLIENT_ID=... \
#     -v /srv/syncd-secrets:/run/secrets/syncd:ro -e SYNCD_SECRETS_DIR=/run/secrets/syncd \
#     -v syncd-state:/var/lib/syncd -p 127.0.0.1:8787:8787 syncd
# Settings come from SYNCD_* variables and mounted files; see README "Settings".

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY syncd ./syncd
RUN python -m venv /opt/syncd && /opt/syncd/bin/pip install .

FROM python:3.11-slim
ENV PATH=/opt/syncd/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    SYNCD_STATE_DIR=/var/lib/syncd \
    SYNCD_RULES_FILE=/etc/syncd/rules.yaml \
    SYNCD_MAPPING_FILE=/etc/syncd/mapping.yaml \
    SYNCD_ADMIN_HOST=0.0.0.0 \
    SYNCD_LOG_FORMAT=json
RUN useradd --system --uid 10001 --home-dir /var/lib/syncd --create-home syncd
COPY --from=build /opt/syncd /opt/syncd
COPY config/rules.yaml config/named_accounts.csv /etc/syncd/
COPY mappings/default.yaml /etc/syncd/mapping.yaml
USER syncd
WORKDIR /var/lib/syncd
VOLUME ["/var/lib/syncd"]
EXPOSE 8787
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4)"]
ENTRYPOINT ["syncd"]
CMD ["run"]
