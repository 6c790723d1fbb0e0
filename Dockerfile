# The application image: one image, the command picks the role
# (`consultant db upgrade | intake | worker | beat`); see docker-compose.yml.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Only what the package needs: nothing from the build context's secrets/, var/ or .venv/.
COPY pyproject.toml README.md ./
COPY consultant ./consultant
COPY workers ./workers
COPY mail_templates ./mail_templates
COPY config ./config

RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --user-group --home-dir /app --no-create-home consultant \
    && mkdir -p /app/var \
    && chown consultant:consultant /app/var

ENV CONSULTANT_VAR_DIR=/app/var

USER consultant

CMD ["consultant", "--help"]
