"""The database refuses any offer state change outside the offer state machine."""

from django.db import migrations

ALLOWED = [
    ("pending", "responded"), ("pending", "declined"), ("pending", "expired"),
    ("pending", "withdrawn"), ("pending", "selected"),
    ("responded", "selected"), ("responded", "not_selected"), ("responded", "withdrawn"),
    ("selected", "withdrawn"),
]

FORWARD = """
CREATE OR REPLACE FUNCTION matching_offer_state_guard() RETURNS trigger AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND (OLD.state, NEW.state) NOT IN ({pairs}) THEN
        RAISE EXCEPTION 'offer % cannot move from % to %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER matching_offer_state_guard
    BEFORE UPDATE OF state ON matching_offer
    FOR EACH ROW EXECUTE FUNCTION matching_offer_state_guard();
""".format(pairs=", ".join(f"('{a}', '{b}')" for a, b in ALLOWED))

BACKWARD = """
DROP TRIGGER IF EXISTS matching_offer_state_guard ON matching_offer;
DROP FUNCTION IF EXISTS matching_offer_state_guard();
"""


class Migration(migrations.Migration):
    dependencies = [("matching", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
