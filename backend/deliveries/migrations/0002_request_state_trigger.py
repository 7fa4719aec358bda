"""The database refuses any request state change outside the state machine, whatever the code
does: a request cannot move backwards or skip a state."""

from django.db import migrations

ALLOWED = [
    ("open", "assigned"), ("open", "cancelled"), ("open", "expired"),
    ("assigned", "picked_up"), ("assigned", "cancelled"), ("assigned", "failed"),
    ("picked_up", "delivered"), ("picked_up", "failed"),
]

FORWARD = """
CREATE OR REPLACE FUNCTION deliveries_request_state_guard() RETURNS trigger AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND (OLD.state, NEW.state) NOT IN ({pairs}) THEN
        RAISE EXCEPTION 'request % cannot move from % to %', OLD.id, OLD.state, NEW.state
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER deliveries_request_state_guard
    BEFORE UPDATE OF state ON deliveries_deliveryrequest
    FOR EACH ROW EXECUTE FUNCTION deliveries_request_state_guard();

CREATE OR REPLACE FUNCTION deliveries_request_initial_state() RETURNS trigger AS $$
BEGIN
    IF NEW.state <> 'open' THEN
        RAISE EXCEPTION 'a request starts open, not %', NEW.state USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER deliveries_request_initial_state
    BEFORE INSERT ON deliveries_deliveryrequest
    FOR EACH ROW EXECUTE FUNCTION deliveries_request_initial_state();
""".format(pairs=", ".join(f"('{a}', '{b}')" for a, b in ALLOWED))

BACKWARD = """
DROP TRIGGER IF EXISTS deliveries_request_state_guard ON deliveries_deliveryrequest;
DROP FUNCTION IF EXISTS deliveries_request_state_guard();
DROP TRIGGER IF EXISTS deliveries_request_initial_state ON deliveries_deliveryrequest;
DROP FUNCTION IF EXISTS deliveries_request_initial_state();
"""


class Migration(migrations.Migration):
    dependencies = [("deliveries", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
