"""Settings of the example site. Its database and protekt's data directory live in
EXAMPLE_STATE_DIR (a directory under the system's temporary directory by default).

Only what protekt needs differs from a new Django project: the app, the middleware,
and the PROTEKT dict.
"""

import os
import tempfile
from pathlib import Path

import protekt

BASE_DIR = Path(__file__).resolve().parent
STATE_DIR = Path(
    os.environ.get("EXAMPLE_STATE_DIR")
    or Path(tempfile.gettempdir()) / "protekt-django-example"
)
STATE_DIR.mkdir(parents=True, exist_ok=True)

# An example's key; a real site reads its own from the environment.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-site-key-not-for-production")
DEBUG = True
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "protekt.contrib.django",
    "example_site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Lets user.registered carry the address and device of the request.
    "protekt.contrib.django.middleware.ProtektMiddleware",
]

ROOT_URLCONF = "example_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": ["django.template.context_processors.request"]
        },
    }
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": STATE_DIR / "db.sqlite3",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True

LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"
EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# protekt: events are kept in DATA_DIR. In development this process delivers them
# too ("thread"), to receivers on this machine; in production leave DISPATCH out
# and run `python manage.py protekt_worker` beside the web workers.
PROTEKT = {
    "DATA_DIR": STATE_DIR / "protekt-data",
    "DISPATCH": "thread",
    "ALLOWED_NETWORKS": ["127.0.0.0/8"],
    "CA_FILE": os.environ.get("EXAMPLE_CA_FILE"),
}

# The secret of the endpoint that /hooks/ receives for; give the same one to
# engine.endpoints.create(auth=protekt.SharedSecret(WEBHOOK_SECRET), ...).
WEBHOOK_SECRET = (
    os.environ.get("EXAMPLE_WEBHOOK_SECRET") or protekt.Webhook.generate_secret()
)

# A stand-in for a real second factor (TOTP, WebAuthn): the code /mfa/ accepts.
EXAMPLE_MFA_CODE = "424242"
