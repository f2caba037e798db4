"""Static files with compressed, content-hashed names (whitenoise)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticStorage(CompressedManifestStaticFilesStorage):
    # Our ES module imports the NHS.UK frontend module: rewrite that import to the hashed name.
    support_js_module_import_aggregation = True
