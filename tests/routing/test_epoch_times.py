"""Times as epoch seconds (what the live matching passes): windows are kept to the second."""

import routing

EPOCH = 1_795_600_000.0  # a Wednesday evening in 2026


def test_a_trip_leaving_after_the_window_closes_cannot_take_the_parcel() -> None:
    trip = routing.Trip(
        start=(45.73, 4.88),
        end=(45.78, 4.88),
        earliest_departure_s=EPOCH + 60,
        latest_departure_s=EPOCH + 600,
        max_detour_s=1800,
    )
    closes_before = routing.TripParcel(
        dropoff=(45.76, 4.88), earliest_s=EPOCH - 3600, latest_s=EPOCH
    )
    closes_after = routing.TripParcel(
        dropoff=(45.76, 4.88), earliest_s=EPOCH - 3600, latest_s=EPOCH + 3600
    )
    travel = routing.HaversineTravel()

    assert routing.best_insertions([trip], closes_before, travel) == []
    assert len(routing.best_insertions([trip], closes_after, travel)) == 1


def test_the_checker_counts_a_late_arrival_in_epoch_seconds() -> None:
    import numpy as np

    problem = routing.Problem(
        locations=np.array([[45.73, 4.88], [45.76, 4.88], [45.78, 4.88]]),
        vehicles=(
            routing.Vehicle(
                id="d",
                kind=routing.VehicleKind.DRIVER,
                start=0,
                end=2,
                earliest_start_s=EPOCH + 60,
                latest_start_s=EPOCH + 600,
            ),
        ),
        parcels=(routing.Parcel(id="p", pickup=0, dropoff=1, delivery_latest_s=EPOCH),),
        travel=routing.HaversineTravel(),
    )
    late = routing.Solution(
        routes=(
            routing.Route(
                vehicle=0,
                stops=(
                    routing.Stop(parcel=0, kind=routing.StopKind.PICKUP),
                    routing.Stop(parcel=0, kind=routing.StopKind.DROPOFF),
                ),
            ),
        ),
        unserved=(),
    )

    report = routing.check(problem, late)

    assert not report.feasible
    assert any("window" in violation for violation in report.violations)
