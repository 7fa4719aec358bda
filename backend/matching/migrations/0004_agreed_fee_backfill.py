from django.db import migrations

# Requests assigned before the agreed fee was kept on the request take it from their selected
# offer, so that booking an earning needs nothing from the offers.
BACKFILL = """
UPDATE deliveries_deliveryrequest AS request
SET agreed_fee_eur = offer.fee_eur
FROM matching_offer AS offer
WHERE offer.request_id = request.id
  AND offer.state = 'selected'
  AND request.agreed_fee_eur IS NULL
"""


class Migration(migrations.Migration):

    dependencies = [
        ('deliveries', '0004_agreed_fee_eur'),
        ('matching', '0003_vans'),
    ]

    operations = [migrations.RunSQL(BACKFILL, reverse_sql=migrations.RunSQL.noop)]
