"""A placement request decided in one round trip under the pool's lock; a waiting request can be withdrawn.

`place_or_waitlist(...)` takes the pool's advisory lock and then, each statement with a fresh snapshot (a VOLATILE
function's statements see what committed before the lock was granted): refuses a resident who already has a
placement or a place on the waitlist (returning its id), takes a bed unless someone of the pool already waits,
inserts the placement (its `request_seq` and `requested_at` both drawn under the lock, so the waitlist's order is
the order of its displayed times) and, when placed, its stay warning. The lock is held from there until the
caller commits: one round trip instead of six to eleven (docs/decisions/0009-placement-critical-section.md).

`withdrawn`: a placement left the waitlist before a bed came free; it keeps no shelter and records when.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

PLACE_OR_WAITLIST = """
CREATE FUNCTION place_or_waitlist(
    p_lock_namespace integer, p_placement_id uuid, p_resident_id uuid, p_programme text, p_operator text,
    p_priority smallint, p_started_on date, p_ends_on date, p_warning_due date)
RETURNS TABLE (
    existing_id uuid, id uuid, status text, requested_at timestamptz, request_seq bigint, waiting_ahead bigint,
    shelter_id uuid, shelter_name text, neighbourhood text, shelter_status text, capacity integer,
    occupied integer, sequence bigint)
LANGUAGE plpgsql VOLATILE AS $$
#variable_conflict use_column
DECLARE
    v_existing uuid;
    v_bed shelter%ROWTYPE;
    v_placement placement%ROWTYPE;
BEGIN
    PERFORM pg_advisory_xact_lock(p_lock_namespace, hashtext(p_programme || '/' || p_operator));

    SELECT a.id INTO v_existing FROM placement AS a
    WHERE a.resident_id = p_resident_id AND a.status IN ('waitlisted', 'placed');
    IF FOUND THEN
        RETURN QUERY SELECT v_existing, NULL::uuid, NULL::text, NULL::timestamptz, NULL::bigint, NULL::bigint,
            NULL::uuid, NULL::text, NULL::text, NULL::text, NULL::integer, NULL::integer, NULL::bigint;
        RETURN;
    END IF;

    -- Someone already waiting goes first: with nobody waiting, take a bed in the pool's open shelter with the
    -- most free beds (the conditional update and the CHECK keep occupancy within capacity whatever happens).
    IF NOT EXISTS (SELECT FROM placement AS w WHERE w.status = 'waitlisted' AND w.programme = p_programme
                   AND w.operator = p_operator) THEN
        UPDATE shelter AS s SET occupied = s.occupied + 1, sequence = s.sequence + 1
        WHERE s.id = (SELECT c.id FROM shelter AS c
                      WHERE c.programme = p_programme AND c.operator = p_operator AND c.status = 'open'
                        AND c.occupied < c.capacity
                      ORDER BY c.capacity - c.occupied DESC, c.created_seq LIMIT 1)
          AND s.status = 'open' AND s.occupied < s.capacity
        RETURNING s.* INTO v_bed;
    END IF;

    INSERT INTO placement AS p (id, resident_id, programme, operator, priority, requested_at, status, shelter_id,
                                placed_at, started_on, ends_on)
    VALUES (p_placement_id, p_resident_id, p_programme, p_operator, p_priority, clock_timestamp(),
            CASE WHEN v_bed.id IS NULL THEN 'waitlisted' ELSE 'placed' END, v_bed.id,
            CASE WHEN v_bed.id IS NULL THEN NULL ELSE clock_timestamp() END,
            CASE WHEN v_bed.id IS NULL THEN NULL ELSE p_started_on END,
            CASE WHEN v_bed.id IS NULL THEN NULL ELSE p_ends_on END)
    RETURNING p.* INTO v_placement;

    IF v_bed.id IS NOT NULL THEN
        INSERT INTO stay_warning (placement_id, due_on) VALUES (p_placement_id, p_warning_due);
    END IF;

    RETURN QUERY SELECT NULL::uuid, v_placement.id, v_placement.status::text, v_placement.requested_at,
        v_placement.request_seq,
        (SELECT count(*) FROM placement AS w WHERE w.status = 'waitlisted' AND w.programme = p_programme
            AND w.operator = p_operator AND w.id <> v_placement.id
            AND (w.priority, w.request_seq) < (v_placement.priority, v_placement.request_seq)),
        v_bed.id, v_bed.name::text, v_bed.neighbourhood::text, v_bed.status::text, v_bed.capacity, v_bed.occupied,
        v_bed.sequence;
END
$$
"""


def upgrade() -> None:
    op.add_column("placement", sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    op.drop_constraint("ck_placement_status_known", "placement", type_="check")
    op.create_check_constraint("ck_placement_status_known", "placement",
                               "status IN ('waitlisted', 'placed', 'ended', 'withdrawn')")
    op.drop_constraint("ck_placement_placed_has_shelter_and_dates", "placement", type_="check")
    op.create_check_constraint(
        "ck_placement_placed_has_shelter_and_dates", "placement",
        "(status IN ('waitlisted', 'withdrawn') AND shelter_id IS NULL) OR (status IN ('placed', 'ended') AND "
        "shelter_id IS NOT NULL AND started_on IS NOT NULL AND ends_on IS NOT NULL)")
    op.create_check_constraint("ck_placement_withdrawn_has_time", "placement",
                               "(status = 'withdrawn') = (withdrawn_at IS NOT NULL)")
    op.execute(PLACE_OR_WAITLIST)


def downgrade() -> None:
    op.execute("DROP FUNCTION place_or_waitlist(integer, uuid, uuid, text, text, smallint, date, date, date)")
    op.execute("DELETE FROM placement WHERE status = 'withdrawn'")
    op.drop_constraint("ck_placement_withdrawn_has_time", "placement", type_="check")
    op.drop_constraint("ck_placement_placed_has_shelter_and_dates", "placement", type_="check")
    op.create_check_constraint(
        "ck_placement_placed_has_shelter_and_dates", "placement",
        "(status = 'waitlisted' AND shelter_id IS NULL) OR (status <> 'waitlisted' AND "
        "shelter_id IS NOT NULL AND started_on IS NOT NULL AND ends_on IS NOT NULL)")
    op.drop_constraint("ck_placement_status_known", "placement", type_="check")
    op.create_check_constraint("ck_placement_status_known", "placement",
                               "status IN ('waitlisted', 'placed', 'ended')")
    op.drop_column("placement", "withdrawn_at")
