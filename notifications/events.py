"""The events the product notifies about, what each needs in its payload, and its wording.

Titles and bodies are ``str.format`` templates filled from the payload, in English and French.
A template may also use ``{fee}``, derived from ``fee_cents`` in the recipient's language.
"""

from dataclasses import dataclass
from string import Formatter

from django.db import models

PayloadValue = str | int | float | None
Payload = dict[str, PayloadValue]

LANGUAGES = ("en", "fr")
DEFAULT_LANGUAGE = "en"


class Event(models.TextChoices):
    OFFER_NEW = "offer.new", "New offer (driver)"
    OFFER_WITHDRAWN = "offer.withdrawn", "Offer no longer available (driver)"
    OFFER_SELECTED = "offer.selected", "You got the delivery (driver)"
    REQUEST_FIRST_RESPONSE = "request.first_response", "First responder (customer)"
    REQUEST_CHOOSE_DRIVER = "request.choose_driver", "Choose your driver (customer)"
    REQUEST_ASSIGNED = "request.assigned", "Driver assigned (customer)"
    REQUEST_PICKED_UP = "request.picked_up", "Picked up (customer)"
    REQUEST_ARRIVING_SOON = "request.arriving_soon", "Arriving soon (customer)"
    REQUEST_DELIVERED = "request.delivered", "Delivered (customer)"
    STORE_REQUEST_DELIVERED = "store.request_delivered", "Delivered (store staff)"
    REQUEST_EXPIRED = "request.expired", "Request expired (customer)"
    REQUEST_CANCELLED = "request.cancelled", "Request cancelled"
    REQUEST_RATE = "request.rate", "Rate your delivery"


@dataclass(frozen=True)
class Template:
    title: str
    body: str


@dataclass(frozen=True)
class EventSpec:
    """How one event is worded and pushed.

    ``required`` are the payload keys the templates and the app's deep link need.
    ``high_priority`` events wake the phone (Android priority high, APNs priority 10).
    ``collapse_by_request`` gives pushes of this event one collapse key per request, so a newer
    push for the same request replaces the older one on the phone.
    ``quiet_hours_apply`` events are not pushed during the recipient's quiet hours.
    """

    required: tuple[str, ...]
    templates: dict[str, Template]
    high_priority: bool = False
    collapse_by_request: bool = False
    quiet_hours_apply: bool = False


SPECS: dict[str, EventSpec] = {
    Event.OFFER_NEW: EventSpec(
        required=("request_id", "offer_id", "store_name", "fee_cents", "detour_min"),
        templates={
            "en": Template(
                "New delivery offer",
                "{store_name}: earn {fee} for a {detour_min} min detour.",
            ),
            "fr": Template(
                "Nouvelle offre de livraison",
                "{store_name} : gagnez {fee} pour un détour de {detour_min} min.",
            ),
        },
        high_priority=True,
        collapse_by_request=True,
        quiet_hours_apply=True,
    ),
    Event.OFFER_WITHDRAWN: EventSpec(
        required=("request_id", "offer_id", "store_name"),
        templates={
            "en": Template(
                "Offer no longer available",
                "The delivery from {store_name} is no longer available.",
            ),
            "fr": Template(
                "Offre plus disponible",
                "La livraison depuis {store_name} n'est plus disponible.",
            ),
        },
        high_priority=True,
        collapse_by_request=True,
    ),
    Event.OFFER_SELECTED: EventSpec(
        required=("request_id", "offer_id", "store_name"),
        templates={
            "en": Template("The delivery is yours", "Pick up the order at {store_name}."),
            "fr": Template(
                "La livraison est pour vous", "Récupérez la commande chez {store_name}."
            ),
        },
        high_priority=True,
        collapse_by_request=True,
    ),
    Event.REQUEST_FIRST_RESPONSE: EventSpec(
        required=("request_id", "driver_name"),
        templates={
            "en": Template("A driver responded", "{driver_name} can deliver your order."),
            "fr": Template("Un livreur a répondu", "{driver_name} peut livrer votre commande."),
        },
    ),
    Event.REQUEST_CHOOSE_DRIVER: EventSpec(
        required=("request_id", "responder_count"),
        templates={
            "en": Template(
                "Choose your driver",
                "{responder_count} people offered to deliver your order. Pick one.",
            ),
            "fr": Template(
                "Choisissez votre livreur",
                "{responder_count} personnes proposent de livrer votre commande. Choisissez.",
            ),
        },
        high_priority=True,
    ),
    Event.REQUEST_ASSIGNED: EventSpec(
        required=("request_id", "driver_name"),
        templates={
            "en": Template("Driver assigned", "{driver_name} will deliver your order."),
            "fr": Template("Livreur choisi", "{driver_name} va livrer votre commande."),
        },
    ),
    Event.REQUEST_PICKED_UP: EventSpec(
        required=("request_id", "driver_name"),
        templates={
            "en": Template("On its way", "{driver_name} picked up your order."),
            "fr": Template("En route", "{driver_name} a récupéré votre commande."),
        },
    ),
    Event.REQUEST_ARRIVING_SOON: EventSpec(
        required=("request_id", "eta_min"),
        templates={
            "en": Template("Arriving soon", "Your order arrives in about {eta_min} min."),
            "fr": Template(
                "Arrivée imminente", "Votre commande arrive dans {eta_min} min environ."
            ),
        },
        high_priority=True,
    ),
    Event.REQUEST_DELIVERED: EventSpec(
        required=("request_id",),
        templates={
            "en": Template("Delivered", "Your order has been delivered."),
            "fr": Template("Livrée", "Votre commande a été livrée."),
        },
    ),
    Event.STORE_REQUEST_DELIVERED: EventSpec(
        required=("request_id", "store_id"),
        templates={
            "en": Template("Delivery completed", "Request #{request_id} has been delivered."),
            "fr": Template("Livraison terminée", "La demande n°{request_id} a été livrée."),
        },
    ),
    Event.REQUEST_EXPIRED: EventSpec(
        required=("request_id",),
        templates={
            "en": Template("No driver found", "Nobody could take your delivery request in time."),
            "fr": Template(
                "Aucun livreur trouvé",
                "Personne n'a pu prendre votre demande de livraison à temps.",
            ),
        },
    ),
    Event.REQUEST_CANCELLED: EventSpec(
        required=("request_id",),
        templates={
            "en": Template("Delivery cancelled", "Delivery request #{request_id} was cancelled."),
            "fr": Template(
                "Livraison annulée", "La demande de livraison n°{request_id} a été annulée."
            ),
        },
    ),
    Event.REQUEST_RATE: EventSpec(
        required=("request_id",),
        templates={
            "en": Template("Rate your delivery", "How did it go? Leave a rating."),
            "fr": Template("Notez votre livraison", "Comment ça s'est passé ? Donnez une note."),
        },
    ),
}

# FCM refuses these data keys; the app's deep link never needs them.
RESERVED_DATA_KEYS = frozenset({"from", "notification", "message_type", "event", "inbox_id"})
RESERVED_DATA_PREFIXES = ("google", "gcm")


def format_fee(*, fee_cents: int, language: str) -> str:
    """Euros from cents, written the way the reader's language writes money."""
    euros = f"{fee_cents / 100:.2f}"
    if language == "fr":
        return f"{euros.replace('.', ',')} €"
    return f"€{euros}"


def render(*, event: str, payload: Payload, language: str) -> Template:
    """The title and body of ``event`` in ``language`` (English when not translated).

    Raises KeyError when the payload lacks a value a template needs.
    """
    spec = SPECS[event]
    template = spec.templates.get(language) or spec.templates[DEFAULT_LANGUAGE]
    values: dict[str, object] = {k: "" if v is None else v for k, v in payload.items()}
    if "fee_cents" in payload and payload["fee_cents"] is not None:
        values["fee"] = format_fee(fee_cents=int(payload["fee_cents"]), language=language)
    return Template(title=template.title.format_map(values), body=template.body.format_map(values))


def template_fields(template: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(template) if name}
