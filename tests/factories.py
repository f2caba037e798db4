"""factory-boy factories for the portal's models."""

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.totp.internal.auth import TOTP

from portal.models import User
from waitinglist.models import Provider

# The authenticator-app secret of every factory-made staff account: tests.totp makes its codes.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider
        django_get_or_create = ["ods_code"]

    ods_code = factory.Sequence(lambda n: f"R{n:02d}")
    name = factory.Sequence(lambda n: f"Test Hospitals {n} NHS Trust")
    waiting_list_phone = "0300 000 0000"
    waiting_list_email = factory.LazyAttribute(
        lambda p: f"waiting.list@{p.ods_code.lower()}.nhs.invalid"
    )


class UserFactory(factory.django.DjangoModelFactory):
    """A user with a verified email address and, if `role` is given, that role."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    password = factory.django.Password("a-long-enough-test-passphrase")

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, verified=True, primary=True)

    @factory.post_generation
    def role(obj, create, extracted, **kwargs):
        if create and extracted:
            obj.add_role(extracted)

    @factory.post_generation
    def mfa(obj, create, extracted, **kwargs):
        # Staff and practice accounts must use two-step verification (portal.access), so they
        # get an authenticator app unless a test asks for one without (mfa=False).
        wanted = extracted if extracted is not None else obj.needs_mfa
        if create and wanted:
            TOTP.activate(obj, TOTP_SECRET)
