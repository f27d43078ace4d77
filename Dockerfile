# The hotline service image used by docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    HOTLINE_WEB_HOST=0.0.0.0 HOTLINE_AGI_HOST=0.0.0.0 HOTLINE_LOG_FORMAT=json

RUN useradd --create-home --uid 10001 hotline
WORKDIR /app
COPY pyproject.toml README.md ./
# One COPY per package: COPY with several folders would merge their contents.
COPY telephony ./telephony
COPY calls ./calls
COPY cases ./cases
COPY ivr ./ivr
COPY accounts ./accounts
COPY database ./database
COPY runtime ./runtime
COPY config ./config
COPY web ./web
COPY agent_ui ./agent_ui
COPY supervision ./supervision
COPY admin ./admin
COPY hotline ./hotline
COPY demo ./demo
COPY pbxsim ./pbxsim
RUN pip install --no-cache-dir .

USER hotline
EXPOSE 8080 4573
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4)" || exit 1
CMD ["hotline", "serve"]
