"""Accounts: one user model for patients, trust staff and GP practice staff."""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from portal.roles import STAFF_ROLES, TRUST_STAFF, Role


class UserQuerySet(models.QuerySet):
    def trust_staff(self) -> "UserQuerySet":
        return self.filter(groups__name__in=TRUST_STAFF).distinct()


class UserManager(BaseUserManager.from_queryset(UserQuerySet)):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra) -> "User":
        if not email:
            raise ValueError("An email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra) -> "User":
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra) -> "User":
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who signs in: identified by email address, with roles as groups."""

    username = None
    email = models.EmailField("email address", unique=True)
    provider = models.ForeignKey(
        "waitinglist.Provider",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="staff",
        help_text="The trust a member of staff works for, or whose lists a GP practice sees.",
    )
    practice_ods_code = models.CharField(
        "GP practice ODS code",
        max_length=6,
        blank=True,
        help_text="For GP practice staff: the practice whose patients they see.",
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ignoring_case"),
        ]

    def __str__(self) -> str:
        return self.email

    def has_role(self, *roles: Role) -> bool:
        """True if the user holds any of the roles given."""
        return any(role in self.role_names for role in roles)

    @property
    def role_names(self) -> frozenset[str]:
        # Cached on the instance: views and templates ask several times a request.
        if not hasattr(self, "_role_names"):
            self._role_names = frozenset(self.groups.values_list("name", flat=True))
        return self._role_names

    def add_role(self, role: Role) -> None:
        from django.contrib.auth.models import Group

        group, _ = Group.objects.get_or_create(name=role)
        self.groups.add(group)
        self.__dict__.pop("_role_names", None)

    @property
    def is_trust_staff(self) -> bool:
        return self.provider_id is not None and self.has_role(*TRUST_STAFF)

    @property
    def is_practice_staff(self) -> bool:
        return (
            self.provider_id is not None
            and bool(self.practice_ods_code)
            and self.has_role(Role.GP_PRACTICE)
        )

    @property
    def needs_mfa(self) -> bool:
        """Staff and practice accounts see patient data: they must sign in with two steps."""
        return self.is_superuser or bool(self.role_names - {Role.PATIENT})


class StaffInvitation(models.Model):
    """A trust admin's invitation to a colleague or a GP practice to open a staff account.

    Only a keyed hash of the invitation's token is stored, as for activation codes.
    """

    provider = models.ForeignKey(
        "waitinglist.Provider", on_delete=models.CASCADE, related_name="staff_invitations"
    )
    email = models.EmailField()
    role = models.CharField(max_length=20, choices=[(r.value, r.value) for r in STAFF_ROLES])
    practice_ods_code = models.CharField("GP practice ODS code", max_length=6, blank=True)
    digest = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        "portal.User", on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        "portal.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"invitation {self.pk} ({self.role})"
