from django.db import migrations, models

# Offers made before drivers were shown the detour to the drop-off area keep their exact detour,
# rounded to the shown steps (60 s, 500 m): the route they were computed on is gone. Only the
# offers still pending at deploy time are shown again, for at most their lifetime.
BACKFILL = """
UPDATE matching_offer
SET shown_detour_s = 60 * floor(detour_s / 60.0 + 0.5),
    shown_detour_m = 500 * floor(detour_m / 500.0 + 0.5)
"""


class Migration(migrations.Migration):

    dependencies = [
        ('matching', '0004_agreed_fee_backfill'),
    ]

    operations = [
        migrations.AddField(
            model_name='offer',
            name='shown_detour_m',
            field=models.PositiveIntegerField(db_default=0),
        ),
        migrations.AddField(
            model_name='offer',
            name='shown_detour_s',
            field=models.PositiveIntegerField(db_default=0),
        ),
        migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop),
    ]
