"""How simulated people behave. Every parameter is here, documented, and can be changed.

Drivers answer an offer with probability

    p = 1 / (1 + exp(-(intercept + per_detour_min * detour_min + per_10_litres * volume_l / 10
                        + per_eur * fee_eur)))

The signs follow the crowdshipping literature: willingness to take a delivery falls with the
detour (extra time) and with the size of the parcel and rises with the pay — Punel &
Stathopoulos (2017), "Modeling the acceptability of crowdsourced goods deliveries: role of
context and experience effects", Transportation Research Part E 105:18–38; Le & Ukkusuri (2019),
"Crowd-shipping services for last mile delivery: analysis from survey data in two countries",
arXiv:1810.02856. Their models are estimated on survey choice experiments with other attribute
scales, so the magnitudes below are our assumptions for a store evening, not their estimates:
at a 5-minute detour, a 100-litre parcel and a 6 EUR fee p ≈ 0.50; at 15 minutes p ≈ 0.24.
"""

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class DriverBehaviour:
    intercept: float = -0.2
    per_detour_min: float = -0.12
    per_10_litres: float = -0.05
    per_eur: float = 0.22
    mean_decision_s: float = 150.0  # time to look at the phone and answer
    p_fail: float = 0.02  # an assigned delivery that cannot be made

    def p_respond(self, *, detour_s: float, volume_l: float, fee_eur: float) -> float:
        utility = (
            self.intercept
            + self.per_detour_min * detour_s / 60
            + self.per_10_litres * volume_l / 10
            + self.per_eur * fee_eur
        )
        return 1 / (1 + math.exp(-utility))


@dataclass(frozen=True)
class CustomerBehaviour:
    # Postings per store and hour, by local hour (a weekday evening in a DIY store).
    posts_per_hour: tuple[tuple[int, float], ...] = (
        (16, 5.0),
        (17, 8.0),
        (18, 9.0),
        (19, 7.0),
        (20, 4.0),
    )
    mean_choose_s: float = 300.0  # customer_choice: time before picking a responder
    p_cancel: float = 0.04  # cancels before a driver is assigned
    p_rate: float = 0.6
    window_lead_min: tuple[int, int] = (20, 60)  # window starts this long after posting
    window_length_min: tuple[int, int] = (90, 180)

    def rate_at(self, hour: int) -> float:
        return dict(self.posts_per_hour).get(hour, 2.0)


@dataclass(frozen=True)
class ShopperBehaviour:
    # Share of the demo shoppers who come to their store on a given evening.
    p_visit: float = 0.85
    departure_flex_min: int = 20
