FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hookline ./hookline
RUN pip install --no-cache-dir ".[server]" && useradd --system --home /var/lib/hookline hookline \
    && mkdir -p /var/lib/hookline && chown hookline /var/lib/hookline
USER hookline
ENV HOOKLINE_DATA_DIR=/var/lib/hookline HOOKLINE_HOST=0.0.0.0
EXPOSE 8000
ENTRYPOINT ["hookline"]
CMD ["serve"]
