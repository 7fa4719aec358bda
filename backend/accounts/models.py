from decimal import Decimal
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.files.storage import Storage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from backend.core.storage import private_storage


class Language(models.TextChoices):
    EN = "en", "English"
    FR = "fr", "Français"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: object) -> "User":
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: object) -> "User":
        fields.setdefault("is_staff", True)
        fields.setdefault("is_superuser", True)
        return self.create_user(email, password, **fields)


class User(AbstractBaseUser, PermissionsMixin):
    """One account per person. Customer and driver are capabilities of the same account:
    anyone can post a request; a person with a driver profile can also declare trips."""

    email = models.EmailField(max_length=254, unique=True)
    full_name = models.CharField(max_length=150, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May log in to the admin (ops).")
    date_joined = models.DateTimeField(default=timezone.now)
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the person deleted their account."
    )

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_driver(self) -> bool:
        return hasattr(self, "driver_profile")


class DriverStatus(models.TextChoices):
    """Where a driver stands: only an approved driver may respond to offers or be assigned."""

    PENDING = "pending", "Pending approval"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    SUSPENDED = "suspended", "Suspended"


def _identity_storage() -> Storage:
    return private_storage()


class DriverProfile(models.Model):
    """What a person can carry when they drive home from a store, and whether they may."""

    class VehicleType(models.TextChoices):
        CAR = "car", "Car"
        ESTATE = "estate", "Estate car"
        VAN = "van", "Van"
        CARGO_BIKE = "cargo_bike", "Cargo bike"

    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="driver_profile")
    vehicle_type = models.CharField(max_length=16, choices=VehicleType.choices)
    capacity_kg = models.DecimalField(
        max_digits=6, decimal_places=1, validators=[MinValueValidator(Decimal("1"))]
    )
    capacity_l = models.DecimalField(
        max_digits=7, decimal_places=1, validators=[MinValueValidator(Decimal("1"))]
    )
    max_length_cm = models.PositiveIntegerField(validators=[MaxValueValidator(400)])
    status = models.CharField(
        max_length=10, choices=DriverStatus.choices, default=DriverStatus.PENDING, db_index=True
    )
    identity_document = models.FileField(
        upload_to="identity/%Y/%m/", storage=_identity_storage, blank=True
    )
    identity_submitted_at = models.DateTimeField(null=True, blank=True)
    rating_avg = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    rating_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(capacity_kg__gt=0, capacity_l__gt=0, max_length_cm__gt=0),
                name="driver_capacity_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.vehicle_type})"

    @property
    def approved(self) -> bool:
        return self.status == DriverStatus.APPROVED


class DriverDecision(models.Model):
    """The audit trail of a driver's standing: who decided what, when, why."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Identity document submitted"
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        SUSPENDED = "suspended", "Suspended"
        REINSTATED = "reinstated", "Reinstated"

    driver = models.ForeignKey(User, on_delete=models.CASCADE, related_name="driver_decisions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    by = models.ForeignKey(
        User,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty when the product decided (automatic suspension).",
    )
    store = models.ForeignKey(
        "stores.Store",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The store whose manager decided, or whose rule suspended.",
    )
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.driver} {self.kind} {self.created_at:%Y-%m-%d}"
