from backend.core.errors import DomainError, NotAllowed


class OfferNotPending(DomainError):
    code = "offer_not_pending"
    default_detail = "This offer is no longer open for a response."


class OfferExpired(DomainError):
    code = "offer_expired"
    default_detail = "This offer has expired."


class TripFull(DomainError):
    code = "trip_full"
    default_detail = "This trip has no room left for the parcels."


class TripNotActive(DomainError):
    code = "trip_not_active"
    default_detail = "This trip is no longer active."


class TripHasParcels(DomainError):
    code = "trip_has_parcels"
    default_detail = (
        "Parcels are assigned to this trip; deliver them or ask the store to reassign them first."
    )


class EarningsCapReached(DomainError):
    code = "earnings_cap_reached"
    default_detail = "You have reached this year's earnings limit for deliveries."


class NotResponded(DomainError):
    code = "offer_not_responded"
    default_detail = "This driver has not responded to the request."


class DriverProfileRequired(NotAllowed):
    code = "driver_profile_required"
    default_detail = "Create a driver profile before declaring a trip."


class WrongAssignmentMode(DomainError):
    code = "wrong_assignment_mode"
    default_detail = "This store does not let customers choose their driver."


class TripOverlaps(DomainError):
    code = "trip_overlaps"
    default_detail = "You already have an active trip leaving in that window."


class TooManyResponses(DomainError):
    code = "too_many_responses"
    default_detail = "You have too many responses waiting at this store; wait for an answer."


class DriverUnavailable(DomainError):
    code = "driver_unavailable"
    default_detail = "This driver can no longer take deliveries."
