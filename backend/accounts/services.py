from decimal import Decimal

from django.conf import settings
from django.contrib.admin.models import LogEntry
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.errors import DriverDecisionInvalid
from backend.accounts.identity import identity_check
from backend.accounts.mails import mail_on_commit
from backend.accounts.models import DriverDecision, DriverProfile, DriverStatus, User
from backend.core.errors import InvalidInput, NotAllowed
from backend.stores.models import StoreMembership


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


# What each kind of vehicle can plausibly carry (kg, litres, longest side cm): a profile cannot
# claim more, so a trip's capacity — which defaults to the profile's — stays believable.
VEHICLE_LIMITS: dict[str, tuple[Decimal, Decimal, int]] = {
    DriverProfile.VehicleType.CARGO_BIKE: (Decimal(120), Decimal(400), 180),
    DriverProfile.VehicleType.CAR: (Decimal(300), Decimal(700), 220),
    DriverProfile.VehicleType.ESTATE: (Decimal(400), Decimal(1500), 260),
    DriverProfile.VehicleType.VAN: (Decimal(1200), Decimal(8000), 400),
}


def _check_vehicle(profile: DriverProfile) -> None:
    max_kg, max_l, max_cm = VEHICLE_LIMITS[profile.vehicle_type]
    label = DriverProfile.VehicleType(profile.vehicle_type).label.lower()
    for name, value, limit, unit in (
        ("capacity_kg", profile.capacity_kg, max_kg, "kg"),
        ("capacity_l", profile.capacity_l, max_l, "l"),
        ("max_length_cm", profile.max_length_cm, max_cm, "cm"),
    ):
        if value > limit:
            raise InvalidInput(name, f"A {label} takes at most {limit} {unit}.")


@transaction.atomic
def driver_profile_upsert(*, user: User, **fields: object) -> DriverProfile:
    """Create or update the caller's driver profile. Becoming a driver is self-service, but a new
    profile is pending: it may look at what is on its way, not respond or carry, until a manager
    of the driver's store (staff) or ops (shoppers, after the identity check) approve it.
    Raises InvalidInput when a capacity is above what the vehicle type takes."""
    profile = DriverProfile.objects.select_for_update().filter(user=user).first()
    if profile is None:
        profile = DriverProfile(user=user, **fields)
        _check_vehicle(profile)
        profile.save()
        return profile
    for name, value in fields.items():
        setattr(profile, name, value)
    _check_vehicle(profile)
    profile.save(update_fields=list(fields) or None)
    return profile


@transaction.atomic
def driver_identity_submit(*, user: User, document: UploadedFile) -> DriverProfile:
    """A driver sends the identity document for the check (see ``backend.accounts.identity``).
    Raises DriverProfile.DoesNotExist without a profile."""
    profile = DriverProfile.objects.select_for_update().get(user=user)
    identity_check().submit(profile=profile, document=document)
    DriverDecision.objects.create(driver=user, kind=DriverDecision.Kind.SUBMITTED, by=user)
    return profile


# Which standing each decision moves a driver from, and to.
_DECISIONS: dict[str, tuple[frozenset[str], str]] = {
    DriverDecision.Kind.APPROVED: (
        frozenset({DriverStatus.PENDING, DriverStatus.REJECTED}),
        DriverStatus.APPROVED,
    ),
    DriverDecision.Kind.REJECTED: (frozenset({DriverStatus.PENDING}), DriverStatus.REJECTED),
    DriverDecision.Kind.SUSPENDED: (
        frozenset({DriverStatus.PENDING, DriverStatus.APPROVED}),
        DriverStatus.SUSPENDED,
    ),
    DriverDecision.Kind.REINSTATED: (frozenset({DriverStatus.SUSPENDED}), DriverStatus.APPROVED),
}


# The decisions a store's manager takes on the store's own staff drivers, by the verb of the
# manager API's and the dashboard's URLs.
MANAGER_DECISIONS = {
    "approve": DriverDecision.Kind.APPROVED,
    "reject": DriverDecision.Kind.REJECTED,
    "suspend": DriverDecision.Kind.SUSPENDED,
    "reinstate": DriverDecision.Kind.REINSTATED,
}


def may_decide_for(*, by: User, driver_id: int, store_id: int | None) -> bool:
    """Ops decide for every driver; a store's manager for the people who work at that store."""
    if by.is_staff:
        return True
    if store_id is None:
        return False
    return (
        StoreMembership.objects.filter(
            store_id=store_id, user_id=by.pk, role=StoreMembership.Role.MANAGER
        ).exists()
        and StoreMembership.objects.filter(store_id=store_id, user_id=driver_id).exists()
    )


@transaction.atomic
def driver_decide(
    *, driver_id: int, kind: str, by: User | None, reason: str = "", store_id: int | None = None
) -> DriverProfile:
    """Approve, reject, suspend or reinstate a driver, and record who decided, when and why.
    ``by`` None is the product itself (automatic suspension). Raises DriverProfile.DoesNotExist,
    NotAllowed (not ops, nor a manager of a store the driver works at), DriverDecisionInvalid
    (e.g. reinstating a driver who is not suspended)."""
    if by is not None and not may_decide_for(by=by, driver_id=driver_id, store_id=store_id):
        raise NotAllowed("Only ops, or a manager of a store this person works at, decide this.")
    if by is None and kind != DriverDecision.Kind.SUSPENDED:
        raise NotAllowed("Only a person approves a driver.")
    profile = DriverProfile.objects.select_for_update().get(user_id=driver_id)
    allowed_from, to = _DECISIONS[kind]
    if profile.status not in allowed_from:
        raise DriverDecisionInvalid(
            f"A driver who is {profile.get_status_display().lower()} cannot be {kind}."
        )
    profile.status = to
    profile.save(update_fields=["status"])
    DriverDecision.objects.create(
        driver_id=driver_id, kind=kind, by=by, store_id=store_id, reason=reason[:300]
    )
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
    e-mail, name, phone and password go, the driver profile can no longer drive, its identity
    document is deleted and every session ends."""
    user.email = f"erased-{user.pk}@invalid.example"
    user.full_name = ""
    user.phone = ""
    user.is_active = False
    user.erased_at = timezone.now()
    user.set_unusable_password()
    user.save(update_fields=["email", "full_name", "phone", "is_active", "erased_at", "password"])
    profile = DriverProfile.objects.select_for_update().filter(user=user).first()
    if profile is not None:
        # The identity document goes too; the decisions stay, for the audit.
        if profile.identity_document:
            profile.identity_document.delete(save=False)
        profile.status = DriverStatus.SUSPENDED
        profile.save(update_fields=["status", "identity_document"])
    # The admin's history named the account by its e-mail address.
    LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(User), object_id=str(user.pk)
    ).update(object_repr=user.email)
    refresh_tokens_revoke_all(user=user)
