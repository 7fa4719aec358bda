from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.mails import mail_on_commit
from backend.accounts.models import DriverProfile, User
from backend.core.errors import InvalidInput


def _password_checked(password: str, *, user: User, field: str) -> None:
    try:
        validate_password(password, user=user)
    except DjangoValidationError as exc:
        raise InvalidInput(field, " ".join(exc.messages)) from exc


@transaction.atomic
def user_register(
    *, email: str, password: str, full_name: str = "", phone: str = "", language: str = "en"
) -> User | None:
    """Create a customer account and mail a welcome; or, when the address already has an
    account, change nothing and mail its owner that they already have one. The caller answers
    the same either way, so that registering tells no one whether an address is known. Returns
    the new account, or None. Raises InvalidInput (password), for a new and a known address
    alike."""
    email = User.objects.normalize_email(email).lower()
    candidate = User(email=email, full_name=full_name, phone=phone, language=language)
    _password_checked(password, user=candidate, field="password")
    existing = User.objects.filter(email__iexact=email).first()
    if existing is None:
        try:
            with transaction.atomic():
                user = User.objects.create_user(
                    email=email,
                    password=password,
                    full_name=full_name,
                    phone=phone,
                    language=language,
                )
        except IntegrityError:  # a concurrent registration won the race
            existing = User.objects.filter(email__iexact=email).first()
        else:
            mail_on_commit(kind="welcome", to=user.email, language=user.language)
            return user
    # The same work as creating the account (hashing is the slow part): the time to answer
    # does not tell either.
    make_password(password)
    if existing is not None and existing.is_active:
        mail_on_commit(kind="already_registered", to=existing.email, language=existing.language)
    return None


def refresh_tokens_revoke_all(*, user: User) -> int:
    """End every session of the account: none of its refresh tokens works any more (an access
    token already handed out still runs to its expiry, JWT_ACCESS_MINUTES). Returns how many
    tokens were revoked."""
    live = OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True)
    revoked = BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in live], ignore_conflicts=True
    )
    return len(revoked)


def token_pair_for_user(*, user: User) -> dict[str, str]:
    """A new session: a refresh token and its access token."""
    refresh = RefreshToken.for_user(user)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


def _password_set(*, user: User, password: str) -> None:
    user.set_password(password)
    user.save(update_fields=["password"])
    refresh_tokens_revoke_all(user=user)
    mail_on_commit(kind="password_changed", to=user.email, language=user.language)


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> dict[str, str]:
    """Change the password of a logged-in account, which must give the current one: every
    session ends and the caller gets a new one (a token pair). Raises InvalidInput
    (old_password, new_password)."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(old_password):
        raise InvalidInput("old_password", "This is not the current password.")
    _password_checked(new_password, user=user, field="new_password")
    _password_set(user=user, password=new_password)
    return token_pair_for_user(user=user)


def _reset_user(uid: str) -> User | None:
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    return User.objects.select_for_update().filter(pk=pk, is_active=True).first()


@transaction.atomic
def password_reset_request(*, email: str) -> None:
    """Mail a one-time reset link (Django's ``default_token_generator``) to the account with
    this address, if there is an active one with a password. Says nothing either way."""
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email, is_active=True).first()
    if user is None or not user.has_usable_password():
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    mail_on_commit(
        kind="password_reset",
        to=user.email,
        language=user.language,
        uid=uid,
        token=token,
        link=settings.PASSWORD_RESET_LINK.format(uid=uid, token=token),
        hours=max(1, settings.PASSWORD_RESET_TIMEOUT // 3600),
    )


@transaction.atomic
def password_reset_confirm(*, uid: str, token: str, new_password: str) -> None:
    """Set a new password with the uid and token of a reset mail: every session ends. The token
    works once (it is bound to the old password) and for PASSWORD_RESET_TIMEOUT. Raises
    InvalidInput (token, new_password)."""
    user = _reset_user(uid)
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidInput("token", "This reset link is invalid or has expired.")
    _password_checked(new_password, user=user, field="new_password")
    _password_set(user=user, password=new_password)


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
    # The admin's history named the account by its e-mail address.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).update(object_repr=user.email)
    refresh_tokens_revoke_all(user=user)
