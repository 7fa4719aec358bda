from backend.core.errors import DomainError, NotAllowed


class DriverNotApproved(NotAllowed):
    code = "driver_not_approved"
    default_detail = (
        "Your driver profile is not approved yet: you can look at what is on your way, but not "
        "respond or carry parcels until it is."
    )


class DriverDecisionInvalid(DomainError):
    code = "driver_decision_invalid"
    default_detail = "This decision does not apply to the driver's current standing."
