from django.db import migrations, models
from django.db.models import F

# What the prefilter allowed before road times: the straight-line distance plus the budget at
# 30 km/h, the polygons already stored for these trips.
LEGACY_SPEED_M_PER_S = 30.0 / 3.6


def backfill_reach(apps, schema_editor):
    Trip = apps.get_model("matching", "Trip")
    Trip.objects.update(
        reach_m=F("direct_m") + models.functions.Ceil(F("max_detour_s") * LEGACY_SPEED_M_PER_S)
    )


class Migration(migrations.Migration):
    dependencies = [("matching", "0005_visibility")]

    operations = [
        migrations.AddField(
            model_name="trip",
            name="direct_s",
            field=models.PositiveIntegerField(
                blank=True,
                null=True,
                help_text="Travel time from the store to the destination, seconds (null: not known).",
            ),
        ),
        migrations.AddField(
            model_name="trip",
            name="reach_m",
            field=models.PositiveIntegerField(
                default=0,
                help_text=(
                    "Bound of d(store, drop-off) + d(drop-off, destination) in straight-line "
                    "metres for every drop-off the trip could take: the candidate prefilter's "
                    "ellipse."
                ),
            ),
        ),
        migrations.AddField(
            model_name="offer",
            name="travel_engine",
            field=models.CharField(db_default="haversine", max_length=12),
        ),
        migrations.AddField(
            model_name="vanplan",
            name="travel_engine",
            field=models.CharField(db_default="haversine", max_length=12),
        ),
        migrations.RunPython(backfill_reach, migrations.RunPython.noop),
    ]
