FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 RELAPP_VAR_DIR=/app/var
WORKDIR /app
RUN useradd --create-home --uid 1000 relapp
COPY pyproject.toml ./
COPY relapp ./relapp
COPY approvals ./approvals
COPY raci ./raci
COPY audit ./audit
COPY meetings ./meetings
COPY api ./api
RUN pip install --no-cache-dir .
COPY . .
# collectstatic needs settings but no database: a build-time key is enough.
RUN SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput \
    && chown -R relapp /app/var
USER relapp
EXPOSE 8000
# Migrations run once per deploy, before the new web processes start.
CMD ["sh", "-c", "python manage.py migrate --noinput && gunicorn relapp.wsgi:application --bind 0.0.0.0:8000 --no-control-socket --timeout ${GUNICORN_TIMEOUT:-120} --graceful-timeout 30"]
