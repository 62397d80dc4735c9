"""billing: modelship_ledger_batch(), PostgreSQL's group commit of the gateway's ledger steps

Many metered calls' holds and settles (captures and releases) applied in one function call: one
round trip, one transaction, one lock of each balance row, instead of a statement and a commit
per step. ``modelship.ledger_batches`` calls it; SQLite has no such function and applies its
steps one by one (its writers queue on the file lock anyway).

The rules are the single-step ones of ``modelship.ledger`` (the same tests run both paths):
a settle posts or voids a hold only while it is pending (and posts only before it expires), and
its ledger entries and balance moves are written only for the settles that did; a hold debits
the balance only when it covers the amount and the key is neither revoked nor expired. Every
balance row the batch may change is locked first, in account order, so batches never deadlock
each other; settles run before holds, so a release frees what a hold in the same batch needs.

Revision ID: billing_0003
Revises: billing_0002
"""

from alembic import op

revision = "billing_0003"
down_revision = "billing_0002"
branch_labels = None
depends_on = None

FUNCTION = """
CREATE FUNCTION modelship_ledger_batch(
    p_at timestamptz,
    h_ids text[], h_accounts integer[], h_owners integer[], h_models text[], h_routes text[],
    h_rows integer[], h_amounts bigint[], h_keys integer[], h_expires timestamptz[],
    s_ids text[], s_status integer[], s_post boolean[],
    e_step integer[], e_transfers text[], e_accounts integer[], e_amounts bigint[],
    m_step integer[], m_accounts integer[], m_available bigint[], m_held bigint[],
    OUT held_steps integer[], OUT settled_steps integer[]
) LANGUAGE plpgsql AS $$
BEGIN
    held_steps := '{}';
    settled_steps := '{}';
    IF cardinality(s_ids) > 0 THEN
        PERFORM 1 FROM balances WHERE account_id = ANY(h_accounts || m_accounts)
         ORDER BY account_id FOR UPDATE;
        WITH s AS (
            SELECT * FROM unnest(s_ids, s_status, s_post) WITH ORDINALITY AS s(id, st, post, n)
        ), done AS (
            UPDATE holds h
               SET state = CASE WHEN s.post THEN 'posted' ELSE 'voided' END,
                   status_code = s.st, settled_at = p_at
              FROM s
             WHERE h.request_id = s.id AND h.state = 'pending'
               AND (NOT s.post OR h.expires_at > p_at)
            RETURNING s.n::integer AS n
        )
        SELECT coalesce(array_agg(n), '{}') INTO settled_steps FROM done;
    END IF;
    IF cardinality(settled_steps) > 0 THEN
        INSERT INTO ledger_entries (transfer_id, account_id, amount, kind)
        SELECT e.t, e.a, e.m, 'capture'
          FROM unnest(e_step, e_transfers, e_accounts, e_amounts) AS e(i, t, a, m)
         WHERE e.i = ANY(settled_steps);
        UPDATE balances b SET available = b.available + d.av, held = b.held + d.hd
          FROM (SELECT m.a, sum(m.av)::bigint AS av, sum(m.hd)::bigint AS hd
                  FROM unnest(m_step, m_accounts, m_available, m_held) AS m(i, a, av, hd)
                 WHERE m.i = ANY(settled_steps) GROUP BY m.a) AS d
         WHERE b.account_id = d.a;
    END IF;
    FOR i IN 1..cardinality(h_ids) LOOP  -- sorted by account: locked in that order
        UPDATE balances SET available = available - h_amounts[i], held = held + h_amounts[i]
         WHERE account_id = h_accounts[i] AND available >= h_amounts[i]
           AND (h_keys[i] IS NULL OR EXISTS (
                SELECT 1 FROM api_keys k WHERE k.id = h_keys[i] AND k.revoked_at IS NULL
                   AND (k.expires_at IS NULL OR k.expires_at > p_at)));
        IF FOUND THEN
            held_steps := held_steps || i;
        END IF;
    END LOOP;
    IF cardinality(held_steps) > 0 THEN
        INSERT INTO holds (request_id, account_id, owner_id, model, route, rows, amount, state,
                           created_at, expires_at)
        SELECT h.id, h.a, h.o, h.m, h.r, h.n, h.amt, 'pending', p_at, h.x
          FROM unnest(h_ids, h_accounts, h_owners, h_models, h_routes, h_rows, h_amounts,
                      h_expires) WITH ORDINALITY AS h(id, a, o, m, r, n, amt, x, i)
         WHERE h.i = ANY(held_steps);
    END IF;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION modelship_ledger_batch")
