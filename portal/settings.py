"""Settings for Wait Well, read from environment variables (see README, "Configuration")."""

from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from portal.env import env, envbool, envint, envlist, envurl

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))

DEBUG = envbool("DEBUG", "off")

DEVELOPMENT_SECRET_KEY = "development-only-key-not-for-any-real-deployment-0123456789"
SECRET_KEY = env("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set to a random value of 50 or more characters when DEBUG is off"
    )

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "whitenoise.runserver_nostatic",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.forms",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "allauth.socialaccount",
    "portal.nhs_login",
    "portal",
    "waitinglist",
    "advice",
    "updates",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "portal.middleware.SessionTimeoutMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"
ASGI_APPLICATION = "portal.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "portal.context_processors.site",
            ],
        },
    },
]
# Every form renders NHS.UK components through the shared templates in templates/nhsuk/forms/.
FORM_RENDERER = "portal.forms.NHSFormRenderer"

# Database: PostgreSQL in production and CI, SQLite under var/ for `make run`.
DATABASE_URL = envurl(
    "DATABASE_URL", f"sqlite:///{VAR_DIR / 'portal.sqlite3'}", ("postgres", "postgresql", "sqlite")
)
if not env("DATABASE_URL"):
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # SQLite creates its file, but not the folder
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL,
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", "60", minimum=0),
        conn_health_checks=True,
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis, when REDIS_URL is set, backs the Celery broker, the cache and allauth's rate limits.
REDIS_URL = envurl("REDIS_URL", "", ("redis", "rediss"))
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "portal.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "waitwell",
        }
    }
    # Sessions are read from Redis and written through to the database: a page view is one
    # cache read instead of a query, and a Redis restart signs nobody out.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Celery. Without Redis, kombu's filesystem transport needs no server (for `make run`).
CELERY_BROKER_DIR = VAR_DIR / "celery"
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
if not REDIS_URL:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
    # kombu's filesystem transport expects its folders to exist.
    for folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
CELERY_TASK_IGNORE_RESULT = True
# A task is acknowledged only once it has finished, so a crashed worker's task runs again.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "Europe/London"
# Big update runs are published in chunks by the workers (updates.tasks.publish): a worker
# reads both queues (`celery -A portal worker -Q celery,fanout`). Uploaded extracts are
# imported from a queue of their own, by a worker that runs one task at a time in its own
# process (`celery -A portal worker -Q imports --pool=solo`): imports take turns anyway
# (decision 0009), and a prefork pool's processes may not start the processes that check a
# large file's rows in parallel (docs/trust-data.md).
CELERY_TASK_ROUTES = {
    "updates.tasks.publish_batch": {"queue": "fanout"},
    "waitinglist.tasks.import_upload": {"queue": "imports"},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "clear-expired-sessions": {
        "task": "portal.tasks.clear_expired_sessions",
        "schedule": crontab(hour=3, minute=15),
    },
    "review-advice": {
        "task": "advice.tasks.review_advice",
        "schedule": crontab(hour=7, minute=0),
    },
    # Digests go out on Tuesdays (weekly subscribers) and on the first Tuesday of the month
    # (monthly ones): a subscriber gets one a period however often the run starts.
    "start-digests": {
        "task": "updates.tasks.start_digests",
        "schedule": crontab(hour=10, minute=0, day_of_week=2),
    },
    "sweep-outbox": {
        "task": "updates.tasks.sweep_outbox",
        "schedule": crontab(minute="*/5"),
    },
    # Sunday night, when the portal is quiet: the workspace's estimate accuracy per queue.
    "backtest-trusts": {
        "task": "waitinglist.tasks.backtest_all",
        "schedule": crontab(hour=22, minute=30, day_of_week=0),
    },
    # Monday morning, before surgeries open: each GP practice's week, in counts.
    "practice-summaries": {
        "task": "waitinglist.tasks.send_practice_summaries",
        "schedule": crontab(hour=7, minute=0, day_of_week=1),
    },
}

# Accounts: email + password with MFA, through django-allauth.
AUTH_USER_MODEL = "portal.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_ADAPTER = "portal.adapters.AccountAdapter"
ACCOUNT_SIGNUP_OPEN = envbool("ACCOUNT_SIGNUP_OPEN", "on")
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_TIMEOUT = 15 * 60  # the email tells people 15 minutes
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_REAUTHENTICATION_REQUIRED = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "Wait Well: "

# NHS login (OpenID Connect; docs/patients.md). Off unless a client id is configured. The
# client authenticates with a JWT signed RS512 by its private key (private_key_jwt), and asks
# for identity verified to P9 (the vector of trust NHS login calls high).
NHS_LOGIN_CLIENT_ID = env("NHS_LOGIN_CLIENT_ID", "")
NHS_LOGIN_SERVER_URL = envurl(
    "NHS_LOGIN_SERVER_URL", "https://auth.login.nhs.uk", ("https", "http")
).rstrip("/")
NHS_LOGIN_PRIVATE_KEY_FILE = env("NHS_LOGIN_PRIVATE_KEY_FILE", "")
NHS_LOGIN_VTR = env("NHS_LOGIN_VTR", '["P9.Cp.Cd","P9.Cp.Ck","P9.Cm"]')
SOCIALACCOUNT_PROVIDERS = {
    "nhs_login": {
        "APPS": [
            {
                "provider_id": "nhs_login",
                "name": "NHS login",
                "client_id": NHS_LOGIN_CLIENT_ID,
                "secret": "",
                "settings": {
                    "server_url": NHS_LOGIN_SERVER_URL,
                    "scope": ["openid", "profile", "email"],
                    "auth_params": {"vtr": NHS_LOGIN_VTR},
                    "fetch_userinfo": False,
                },
            }
        ]
        if NHS_LOGIN_CLIENT_ID
        else []
    }
}
SOCIALACCOUNT_ADAPTER = "portal.nhs_login.views.SocialAccountAdapter"
SOCIALACCOUNT_AUTO_SIGNUP = True
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # NHS login has verified the email address
SOCIALACCOUNT_STORE_TOKENS = False
ACCOUNT_RATE_LIMITS = {
    # Five wrong passwords for one account in five minutes, or ten from one address in a
    # minute, lock further attempts out (OWASP ASVS 2.2.1).
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "reset_password": "20/m/ip,5/m/key",
    "confirm_email": "1/3m/key",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Wait Well"

# Sessions end after 30 minutes idle and 12 hours in all (OWASP ASVS 3.3; see portal/middleware.py).
SESSION_IDLE_TIMEOUT = envint("SESSION_IDLE_TIMEOUT", "1800", minimum=60)
SESSION_ABSOLUTE_TIMEOUT = envint("SESSION_ABSOLUTE_TIMEOUT", "43200", minimum=60)
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# HTTPS and browser protections; `manage.py check --deploy` is clean with DEBUG off.
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "off" if DEBUG else "on")
# Load balancers probe /healthz over plain HTTP inside the private network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
if envbool("SECURE_PROXY_SSL_HEADER", "off"):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000", minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    # The NHS.UK frontend loads the Frutiger typeface from the NHS's own asset host.
    "font-src": [CSP.SELF, "https://assets.nhs.uk"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    # Browsers apply form-action to the redirect after a form is sent: "Continue with NHS
    # login" posts here and is redirected to NHS login.
    "form-action": [CSP.SELF, *([NHS_LOGIN_SERVER_URL] if NHS_LOGIN_CLIENT_ID else [])],
    "frame-ancestors": [CSP.NONE],
}

# Static files: NHS.UK frontend built into static/ by `make install`, served by whitenoise.
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "portal.storage.StaticStorage"
    },
}

# Email: SMTP when EMAIL_HOST is set, otherwise one file per message under var/mail/.
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Wait Well <noreply@waitwell.nhs.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env("EMAIL_HOST"),
                "port": envint("EMAIL_PORT", "587", minimum=1),
                "username": env("EMAIL_HOST_USER", ""),
                "password": env("EMAIL_HOST_PASSWORD", ""),
                "use_tls": envbool("EMAIL_USE_TLS", "on"),
                "timeout": 10,
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }

# The trust whose name the site shows to visitors who are not signed in (an ODS code).
TRUST_ODS_CODE = env("TRUST_ODS_CODE", "").upper()
# The site's public address, for links in letters and messages (activation codes).
# Updates by email and text (updates/): GOV.UK Notify when its API key is set.
GOVUK_NOTIFY_API_KEY = env("GOVUK_NOTIFY_API_KEY", "")
GOVUK_NOTIFY_BASE_URL = envurl(
    "GOVUK_NOTIFY_BASE_URL", "https://api.notifications.service.gov.uk", ("http", "https")
)
GOVUK_NOTIFY_EMAIL_TEMPLATE_ID = env("GOVUK_NOTIFY_EMAIL_TEMPLATE_ID", "")
GOVUK_NOTIFY_SMS_TEMPLATE_ID = env("GOVUK_NOTIFY_SMS_TEMPLATE_ID", "")
# The bearer token Notify sends with delivery receipts (set in Notify's callback settings).
GOVUK_NOTIFY_CALLBACK_TOKEN = env("GOVUK_NOTIFY_CALLBACK_TOKEN", "")
UPDATES_EMAIL_BY_SMTP = envbool("UPDATES_EMAIL_BY_SMTP", "off")
UPDATES_RATE_PER_MINUTE = envint("UPDATES_RATE_PER_MINUTE", "3000", minimum=1)
UPDATES_DAILY_CAP = envint("UPDATES_DAILY_CAP", "250000", minimum=1)
UPDATES_LEASE_SECONDS = envint("UPDATES_LEASE_SECONDS", "300", minimum=1)

SITE_URL = envurl("SITE_URL", "http://127.0.0.1:8000", ("http", "https")).rstrip("/")

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
# The service is in English only: Django's translation machinery looked up every word of a
# page in its catalogues (about 3 ms of a patient page's 16, measured). Dates still use en-GB
# formats.
USE_I18N = False
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO").upper()},
}
if not REDIS_URL:
    # kombu warns that the filesystem transport's URL names no host, which it never needs.
    LOGGING["loggers"] = {"kombu.connection": {"level": "ERROR"}}

# Uploaded extracts wait here for a worker (a folder every web and worker machine shares).
IMPORT_UPLOAD_DIR = Path(env("IMPORT_UPLOAD_DIR", str(VAR_DIR / "uploads")))
IMPORT_MAX_UPLOAD_BYTES = envint("IMPORT_MAX_UPLOAD_BYTES", "1000000000", minimum=1)
