FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hookline ./hookline
# The user has a fixed uid so that Kubernetes can check it is not root (runAsNonRoot).
RUN pip install --no-cache-dir ".[server]" \
    && useradd --system --uid 10001 --home /var/lib/hookline hookline \
    && mkdir -p /var/lib/hookline && chown hookline /var/lib/hookline
USER hookline
# The data directory holds only what the settings leave to it: the SQLite database without
# HOOKLINE_DATABASE_URL, the keys without HOOKLINE_ADMIN_KEY and HOOKLINE_ENCRYPTION_KEY.
ENV HOOKLINE_DATA_DIR=/var/lib/hookline HOOKLINE_HOST=0.0.0.0
EXPOSE 8000
ENTRYPOINT ["hookline"]
CMD ["serve"]
