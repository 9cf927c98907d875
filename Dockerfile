# One image for every Keel service; the container's command picks the service.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY services ./services
COPY gen ./gen
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1 KEEL_STATE_DIR=/var/lib/keel
RUN mkdir -p /var/lib/keel
CMD ["python", "-m", "services.gateway"]
