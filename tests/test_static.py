"""Static files in production: content-hashed names, pre-compressed copies, NHS.UK assets."""

import pytest
from django.core.management import call_command
from django.test import override_settings


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = tmp_path_factory.mktemp("staticfiles")
    with override_settings(
        STATIC_ROOT=root,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "portal.storage.StaticStorage"},
        },
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
    return root


def hashed(root, folder: str, stem: str, suffix: str):
    found = sorted((root / folder).glob(f"{stem}.*{suffix}"))
    names = [p.name for p in found if p.name.count(".") == stem.count(".") + 2]
    assert names, f"no hashed {stem}{suffix} in {folder}"
    return root / folder / names[0]


def test_the_nhsuk_stylesheet_is_hashed_and_compressed(collected):
    css = hashed(collected, "nhsuk", "nhsuk-frontend.min", ".css")
    assert css.with_name(css.name + ".gz").exists()
    assert css.with_name(css.name + ".br").exists()


def test_the_stylesheets_images_resolve_to_hashed_files(collected):
    css = hashed(collected, "nhsuk", "nhsuk-frontend.min", ".css").read_text()
    assert "url(/assets/" not in css
    assert 'url("assets/images/nhsuk-icon-cross.' in css


def test_our_module_imports_the_hashed_nhsuk_script(collected):
    init = hashed(collected, "portal/js", "init", ".js").read_text()
    script = hashed(collected, "nhsuk", "nhsuk-frontend.min", ".js").name
    assert f'from "../../nhsuk/{script}"' in init
