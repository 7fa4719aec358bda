from decimal import Decimal

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from backend.accounts.errors import DriverDecisionInvalid
from backend.accounts.identity import identity_check
from backend.accounts.models import DriverDecision, DriverProfile, DriverStatus, User
from backend.core.errors import DomainError, InvalidInput, NotAllowed
from backend.stores.models import StoreMembership


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
    for name, value, limit in (
        ("capacity_kg", profile.capacity_kg, max_kg),
        ("capacity_l", profile.capacity_l, max_l),
        ("max_length_cm", profile.max_length_cm, max_cm),
    ):
        if value > limit:
            raise InvalidInput(name, f"A {label} takes at most {limit}.")


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
    e-mail, name, phone and password go, the driver profile can no longer drive and every
    session ends."""
    user.email = f"erased-{user.pk}@invalid.example"
    user.full_name = ""
    user.phone = ""
    user.is_active = False
    user.erased_at = timezone.now()
    user.set_unusable_password()
    user.save(update_fields=["email", "full_name", "phone", "is_active", "erased_at", "password"])
    DriverProfile.objects.filter(user=user).update(status=DriverStatus.SUSPENDED)
    # Every session ends: no refresh token of this account works any more.
    for outstanding in OutstandingToken.objects.filter(user=user):
        BlacklistedToken.objects.get_or_create(token=outstanding)
