"""A handover that proves something.

- Pickup is confirmed by the store: the assigned driver shows its pickup pass (the request and
  its pickup code) at the desk, and the store's staff enter or scan it there. The driver's own
  account can no longer move a request to picked up.
- A delivery with a photo instead of the customer's code holds the driver's earning until the
  store's manager reviews the photo: approving releases it, rejecting cancels it.
- The photo is re-encoded (JPEG, PNG or WebP in; JPEG out, without EXIF or GPS), kept in
  private storage and served only to the store's managers and the request's customer; an upload
  larger than ``PROOF_PHOTO_MAX_BYTES`` is refused with 413 before its body is read.
"""

import io
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.test.client import BOUNDARY, MULTIPART_CONTENT, encode_multipart
from PIL import ExifTags, Image

from backend.deliveries.models import DeliveryRequest, Earning, RequestState
from backend.deliveries.states import request_move
from backend.matching.selectors import driver_earned_this_year_eur
from backend.matching.services import offer_respond
from backend.stores.models import StoreMembership
from notifications.models import InboxItem
from tests import factories

PAYABLE = (Earning.State.PENDING, Earning.State.PAID)


@pytest.fixture
def assigned(db, store):  # type: ignore[no-untyped-def]
    offer = factories.OfferFactory(request=factories.DeliveryRequestFactory(store=store))
    offer_respond(offer_id=offer.pk, driver=offer.trip.driver)
    request = DeliveryRequest.objects.get(pk=offer.request_id)
    assert request.state == RequestState.ASSIGNED
    return request


@pytest.fixture
def desk(store):  # type: ignore[no-untyped-def]
    """A member of the store's staff at the pickup desk (not a manager)."""
    return factories.MembershipFactory(store=store, role=StoreMembership.Role.STAFF).user


@pytest.fixture
def picked_up(assigned, manager):  # type: ignore[no-untyped-def]
    """A request on its way (moved directly: the photo tests do not depend on the pickup's)."""
    assigned.save(update_fields=request_move(assigned, RequestState.PICKED_UP))
    assigned.refresh_from_db()
    assert assigned.state == RequestState.PICKED_UP
    return assigned


def _pass_seen_by_driver(api: Any, request: DeliveryRequest) -> str:
    """The pickup code as the assigned driver's app shows it (its pickup pass)."""
    seen = api(request.assigned_driver).get(f"/api/v1/delivery-requests/{request.pk}/")
    assert seen.status_code == 200
    return str(seen.json()["pickup_code"])


def _desk_url(request: DeliveryRequest) -> str:
    return f"/api/v1/desk/requests/{request.pk}/pickup/"


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), "orange")
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (45.0, 45.0, 36.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (4.0, 52.0, 48.0)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", exif=exif, comment=b"12 rue des Tilleuls")
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # it is there
    return data


def _deliver_with_photo(api: Any, request: DeliveryRequest, data: bytes, name: str = "door.jpg"):  # type: ignore[no-untyped-def]
    photo = SimpleUploadedFile(name, data, content_type="image/jpeg")
    return api(request.assigned_driver).post(
        f"/api/v1/delivery-requests/{request.pk}/deliver/photo/",
        {"photo": photo},
        format="multipart",
    )


# --- pickup: confirmed by the store -----------------------------------------------------------


def test_the_driver_cannot_confirm_its_own_pickup(api, assigned):  # type: ignore[no-untyped-def]
    code = _pass_seen_by_driver(api, assigned)
    driver = api(assigned.assigned_driver)

    own = driver.post(f"/api/v1/delivery-requests/{assigned.pk}/pickup/", {"pickup_code": code})
    at_the_desk = driver.post(_desk_url(assigned), {"pickup_code": code})

    assert own.status_code in (403, 404, 405)
    assert at_the_desk.status_code == 404  # the driver does not work at the store
    assigned.refresh_from_db()
    assert assigned.state == RequestState.ASSIGNED


def test_a_driver_who_works_at_the_store_cannot_confirm_its_own_pickup(api, assigned, store):  # type: ignore[no-untyped-def]
    factories.MembershipFactory(
        store=store, user=assigned.assigned_driver, role=StoreMembership.Role.STAFF
    )
    code = _pass_seen_by_driver(api, assigned)

    answer = api(assigned.assigned_driver).post(_desk_url(assigned), {"pickup_code": code})

    assert answer.status_code == 403
    assert set(answer.json()) == {"code", "detail", "fields"}
    assigned.refresh_from_db()
    assert assigned.state == RequestState.ASSIGNED
    assert assigned.pickup_code_attempts == 0


@pytest.mark.parametrize("role", [StoreMembership.Role.STAFF, StoreMembership.Role.MANAGER])
def test_the_desk_confirms_the_pickup_with_the_drivers_pass(api, assigned, store, role):  # type: ignore[no-untyped-def]
    member = factories.MembershipFactory(store=store, role=role).user
    code = _pass_seen_by_driver(api, assigned)

    answer = api(member).post(_desk_url(assigned), {"pickup_code": code})

    assert answer.status_code == 200, answer.json()
    assert answer.json()["state"] == "picked_up"
    assert "pickup_code" not in answer.json()  # the store never holds the driver's pass
    assigned.refresh_from_db()
    assert assigned.state == RequestState.PICKED_UP
    assert assigned.pickup_confirmed_by_id == member.pk
    assert InboxItem.objects.filter(user=assigned.customer, event="request.picked_up").exists()


def test_staff_of_another_store_get_404_at_the_desk(api, assigned):  # type: ignore[no-untyped-def]
    elsewhere = factories.MembershipFactory(role=StoreMembership.Role.STAFF).user
    manager_elsewhere = factories.MembershipFactory().user
    code = _pass_seen_by_driver(api, assigned)

    for person in (elsewhere, manager_elsewhere, assigned.customer, factories.UserFactory()):
        answer = api(person).post(_desk_url(assigned), {"pickup_code": code})
        assert answer.status_code == 404, (person, answer.json())
    assigned.refresh_from_db()
    assert assigned.state == RequestState.ASSIGNED
    assert assigned.pickup_code_attempts == 0
    # The same pass at the right store's desk works: the 404s were about who asked.
    own_desk = factories.MembershipFactory(store=assigned.store, role=StoreMembership.Role.STAFF)
    assert api(own_desk.user).post(_desk_url(assigned), {"pickup_code": code}).status_code == 200


def test_the_store_shape_does_not_carry_the_pickup_code(api, assigned, manager, desk):  # type: ignore[no-untyped-def]
    for person in (manager, desk):
        seen = api(person).get(f"/api/v1/delivery-requests/{assigned.pk}/")
        assert seen.status_code == 200
        assert "pickup_code" not in seen.json()
        assert assigned.pickup_code not in seen.content.decode()


# --- photo delivery: held until the store reviews ---------------------------------------------


def test_a_photo_delivery_books_no_payable_earning_until_the_store_approves(  # type: ignore[no-untyped-def]
    api, picked_up, manager
):
    driver_id = picked_up.assigned_driver_id
    answer = _deliver_with_photo(api, picked_up, _jpeg_with_gps())

    assert answer.status_code == 200, answer.json()
    picked_up.refresh_from_db()
    assert picked_up.state == RequestState.DELIVERED
    assert picked_up.review_required
    earning = Earning.objects.get(request=picked_up)
    assert earning.state == Earning.State.HELD
    assert not Earning.objects.filter(driver_id=driver_id, state__in=PAYABLE).exists()
    # The yearly cap counts it already, so that releasing it can never take a driver past it.
    assert driver_earned_this_year_eur(driver_id=driver_id) == earning.amount_eur

    review = f"/api/v1/manager/requests/{picked_up.pk}/review/"
    # A photo awaits the verdict: closing the review without one is refused.
    assert api(manager).post(review, {}).status_code == 400
    approved = api(manager).post(review, {"photo_verdict": "approve"})

    assert approved.status_code == 200, approved.json()
    assert approved.json()["review_required"] is False
    assert approved.json()["proof_review"] == "approved"
    earning.refresh_from_db()
    assert earning.state == Earning.State.PENDING
    assert Earning.objects.filter(driver_id=driver_id, state__in=PAYABLE).count() == 1


def test_a_rejected_photo_cancels_the_earning_and_the_request_stays_delivered(  # type: ignore[no-untyped-def]
    api, picked_up, manager
):
    assert _deliver_with_photo(api, picked_up, _jpeg_with_gps()).status_code == 200

    rejected = api(manager).post(
        f"/api/v1/manager/requests/{picked_up.pk}/review/", {"photo_verdict": "reject"}
    )

    assert rejected.status_code == 200, rejected.json()
    picked_up.refresh_from_db()
    assert picked_up.state == RequestState.DELIVERED
    assert picked_up.proof_review == DeliveryRequest.ProofReview.REJECTED
    assert not picked_up.review_required
    assert Earning.objects.get(request=picked_up).state == Earning.State.CANCELLED
    assert driver_earned_this_year_eur(driver_id=picked_up.assigned_driver_id) == 0
    # A verdict is given once.
    again = api(manager).post(
        f"/api/v1/manager/requests/{picked_up.pk}/review/", {"photo_verdict": "approve"}
    )
    assert again.status_code == 400
    assert Earning.objects.get(request=picked_up).state == Earning.State.CANCELLED


def test_the_code_path_still_books_the_earning_at_once(api, picked_up):  # type: ignore[no-untyped-def]
    answer = api(picked_up.assigned_driver).post(
        f"/api/v1/delivery-requests/{picked_up.pk}/deliver/",
        {"delivery_code": picked_up.delivery_code},
    )
    assert answer.status_code == 200, answer.json()
    assert Earning.objects.get(request=picked_up).state == Earning.State.PENDING


# --- the photo: private, re-encoded, size-checked ---------------------------------------------


def test_the_photo_is_served_to_the_stores_manager_and_the_customer_only(  # type: ignore[no-untyped-def]
    api, picked_up, manager, desk
):
    assert _deliver_with_photo(api, picked_up, _jpeg_with_gps()).status_code == 200
    url = f"/api/v1/delivery-requests/{picked_up.pk}/proof-photo/"

    for person in (manager, picked_up.customer):
        seen = api(person).get(url, HTTP_ACCEPT="image/*")
        assert seen.status_code == 200
        assert seen["Content-Type"] == "image/jpeg"
        assert "no-store" in seen["Cache-Control"]
        Image.open(io.BytesIO(b"".join(seen.streaming_content))).verify()

    others = [
        desk,  # staff who are not managers do not review
        picked_up.assigned_driver,
        factories.MembershipFactory().user,  # another store's manager
        factories.UserFactory(),
    ]
    for person in others:
        refused = api(person).get(url)
        assert refused.status_code == 404, person
        assert set(refused.json()) == {"code", "detail", "fields"}
    assert api(None).get(url).status_code == 401

    shaped = api(manager).get(f"/api/v1/delivery-requests/{picked_up.pk}/").json()
    assert shaped["proof_photo_url"] == url
    # Kept in private storage, outside MEDIA_ROOT, with no public URL.
    picked_up.refresh_from_db()
    stored = Path(picked_up.proof_photo.path).resolve()
    assert Path(settings.MEDIA_ROOT).resolve() not in stored.parents
    with pytest.raises(ValueError, match="not"):
        _ = picked_up.proof_photo.url


def test_a_request_without_a_photo_has_no_photo_to_serve(api, picked_up, manager):  # type: ignore[no-untyped-def]
    answer = api(manager).get(f"/api/v1/delivery-requests/{picked_up.pk}/proof-photo/")
    assert answer.status_code == 404
    assert set(answer.json()) == {"code", "detail", "fields"}  # the API's answer, not a lost URL


def test_an_uploaded_jpeg_comes_back_without_its_exif_and_gps(api, picked_up, manager):  # type: ignore[no-untyped-def]
    assert _deliver_with_photo(api, picked_up, _jpeg_with_gps()).status_code == 200

    served = api(manager).get(f"/api/v1/delivery-requests/{picked_up.pk}/proof-photo/")
    data = b"".join(served.streaming_content)

    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.size == (64, 48)
    assert dict(image.getexif()) == {}
    assert "exif" not in image.info
    assert "comment" not in image.info
    assert b"Exif" not in data
    assert b"PhoneMaker" not in data
    assert b"Tilleuls" not in data


@pytest.mark.parametrize("fmt", ["PNG", "WEBP"])
def test_png_and_webp_photos_are_accepted_and_re_encoded(api, picked_up, manager, fmt):  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    Image.new("RGBA", (20, 10), (0, 128, 255, 128)).save(buffer, fmt)

    answer = _deliver_with_photo(api, picked_up, buffer.getvalue(), name=f"door.{fmt.lower()}")

    assert answer.status_code == 200, answer.json()
    served = api(manager).get(f"/api/v1/delivery-requests/{picked_up.pk}/proof-photo/")
    assert Image.open(io.BytesIO(b"".join(served.streaming_content))).format == "JPEG"


def test_a_text_file_or_a_gif_named_jpg_is_refused(api, picked_up):  # type: ignore[no-untyped-def]
    gif = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(gif, "GIF")

    for data in (b"not an image at all", gif.getvalue()):
        answer = _deliver_with_photo(api, picked_up, data, name="door.jpg")
        assert answer.status_code == 400, answer.json()
        assert answer.json()["code"] == "invalid"
        assert "photo" in answer.json()["fields"]
    picked_up.refresh_from_db()
    assert picked_up.state == RequestState.PICKED_UP
    assert not Earning.objects.filter(request=picked_up).exists()


def test_a_photo_with_too_many_pixels_is_refused(api, picked_up):  # type: ignore[no-untyped-def]
    buffer = io.BytesIO()
    Image.new("1", (8000, 8000)).save(buffer, "PNG")  # 64 megapixels, a few kB compressed

    answer = _deliver_with_photo(api, picked_up, buffer.getvalue(), name="door.png")

    assert answer.status_code == 400
    assert "photo" in answer.json()["fields"]


class _UnreadableBody(io.RawIOBase):
    """A request body that records any attempt to read it."""

    def __init__(self) -> None:
        self.reads = 0

    def read(self, size: int = -1) -> bytes:
        self.reads += 1
        raise AssertionError("the body was read")

    def readline(self, size: int | None = -1) -> bytes:
        return self.read()


@override_settings(PROOF_PHOTO_MAX_BYTES=4096)
def test_an_oversized_upload_gets_413_without_its_body_being_read(api, picked_up):  # type: ignore[no-untyped-def]
    big = SimpleUploadedFile("door.jpg", b"\xff" * 8192, content_type="image/jpeg")
    body = encode_multipart(BOUNDARY, {"photo": big})
    stream = _UnreadableBody()

    answer = api(picked_up.assigned_driver).post(
        f"/api/v1/delivery-requests/{picked_up.pk}/deliver/photo/",
        body,
        content_type=MULTIPART_CONTENT,
        **{"wsgi.input": stream, "CONTENT_LENGTH": str(len(body))},
    )

    assert answer.status_code == 413
    assert set(answer.json()) == {"code", "detail", "fields"}
    assert "photo" in answer.json()["fields"]
    assert stream.reads == 0
    picked_up.refresh_from_db()
    assert picked_up.state == RequestState.PICKED_UP
