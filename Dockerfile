# syntax=docker/dockerfile:1
# Stage 1: build the stylesheet. Node is needed only here, never at run time.
FROM node:20-bookworm-slim AS css
WORKDIR /src/theme/static_src
COPY theme/static_src/package.json theme/static_src/package-lock.json ./
RUN npm ci --no-audit --no-fund
# Tailwind scans the templates and Python of every app for class names.
COPY accounts/ /src/accounts/
COPY catalog/ /src/catalog/
COPY checkout/ /src/checkout/
COPY dashboard/ /src/dashboard/
COPY theme/ /src/theme/
RUN npm run build:tailwind

# Stage 2: the application, served by uvicorn as an unprivileged user.
FROM python:3.11-slim-bookworm AS app
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app
RUN useradd --create-home --uid 10001 shop
COPY requirements.lock ./
RUN pip install -r requirements.lock
COPY --chown=shop:shop . .
COPY --from=css --chown=shop:shop /src/theme/static/css/dist/ theme/static/css/dist/
# Hashed, compressed static files; the settings need placeholder secrets to load.
RUN DJANGO_DEBUG=0 DJANGO_SECRET_KEY=collectstatic-only STRIPE_SECRET_KEY=sk_build \
    STRIPE_WEBHOOK_SECRET=whsec_build python manage.py collectstatic --noinput \
    && mkdir -p var/media && chown -R shop:shop var staticfiles
USER shop
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
# uvicorn's own command line, with TCP_NODELAY on the workers' connections (config/serve.py).
CMD ["python", "-m", "config.serve", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2", "--proxy-headers"]
