from decimal import Decimal
from typing import ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


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


class DriverProfile(models.Model):
    """What a person can carry when they drive home from a store."""

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
    verified = models.BooleanField(default=False)
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
