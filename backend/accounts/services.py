from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.models import DriverProfile, User
from backend.core.errors import DomainError, InvalidInput


class EmailTaken(DomainError):
    code = "email_taken"
    default_detail = "An account with this e-mail address already exists."


@transaction.atomic
def user_register(
    *, email: str, password: str, full_name: str = "", phone: str = "", language: str = "en"
) -> User:
    """Create a customer account. Raises EmailTaken, InvalidInput (password)."""
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken()
    candidate = User(email=email, full_name=full_name, phone=phone, language=language)
    try:
        validate_password(password, user=candidate)
    except DjangoValidationError as exc:
        raise InvalidInput("password", " ".join(exc.messages)) from exc
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email, password=password, full_name=full_name, phone=phone, language=language
            )
    except IntegrityError as exc:  # a concurrent registration won the race
        raise EmailTaken() from exc


@transaction.atomic
def user_update(*, user: User, **fields: str) -> User:
    allowed = {"full_name", "phone", "language"}
    changed = [name for name in fields if name in allowed]
    for name in changed:
        setattr(user, name, fields[name])
    if changed:
        user.save(update_fields=changed)
    return user


@transaction.atomic
def driver_profile_upsert(*, user: User, **fields: object) -> DriverProfile:
    """Create or update the caller's driver profile (becoming a driver is self-service;
    ``verified`` is set by ops in the admin)."""
    profile, _ = DriverProfile.objects.select_for_update().get_or_create(user=user, defaults=fields)
    for name, value in fields.items():
        setattr(profile, name, value)
    profile.save(update_fields=list(fields) or None)
    return profile


def token_blacklist(*, refresh: str) -> None:
    """Log out: the refresh token can no longer be used. Raises InvalidInput."""
    try:
        RefreshToken(refresh).blacklist()  # type: ignore[arg-type]
    except TokenError as exc:
        raise InvalidInput("refresh", "Token is invalid or expired.") from exc


@transaction.atomic
def account_erase_for_user(*, user: User) -> None:
    """For an account being deleted (``privacy.services.user_erase`` runs every app's part): the
    e-mail, name, phone and password go, the driver profile is no longer verified and every
    session ends."""
    user.email = f"erased-{user.pk}@invalid.example"
    user.full_name = ""
    user.phone = ""
    user.is_active = False
    user.erased_at = timezone.now()
    user.set_unusable_password()
    user.save(update_fields=["email", "full_name", "phone", "is_active", "erased_at", "password"])
    DriverProfile.objects.filter(user=user).update(verified=False)
    # Every session ends: no refresh token of this account works any more.
    for outstanding in OutstandingToken.objects.filter(user=user):
        BlacklistedToken.objects.get_or_create(token=outstanding)
