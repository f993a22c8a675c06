"""One customer id per person across sources: keys, links, merges.

A person is known by keys: a source's own customer id (namespaced `source:id`) and a normalised
email. Keys seen together on one record are linked; every connected group of keys is one customer.
When a new file links keys that belonged to two existing customers, the older (smaller) id
survives, the other is merged into it, and the merge is recorded with the key that caused it, so
`fidelis customers explain` can say why two records are one person.

Connected components are computed with scipy's sparse graph routines rather than a hand-written
union-find: vectorised, and fast at millions of keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


@dataclass(frozen=True)
class IdentityOutcome:
    customers_created: int
    customers_merged: int
    keys_added: int
    links_added: int
    survivors: list[int]          # customers that absorbed others in this load


@dataclass(frozen=True)
class IdentityPlan:
    """What a load will do to identities, computed before the load's transaction begins."""

    customers_created: int
    merges: pd.DataFrame          # merged_customer_id, into_customer_id, via_key_type, via_key_value


def plan_identities(con: duckdb.DuckDBPyConnection) -> IdentityPlan:
    """Assign customer ids to the keys in TEMP TABLE `stg_ids(source_key, email, first_row)`.

    Reads the stored keys and leaves TEMP TABLE `key_customer(key_type, key_value, customer_id)`;
    writes nothing to the warehouse, so it can run outside the load's transaction (where DuckDB
    works several times faster on large temporary tables). One writer holds a warehouse file at a
    time, so the keys read here cannot change before `apply_identities`.

    The graph is built on integer node numbers given out by SQL, so Python touches no strings.
    """
    _number_nodes(con)
    n_keys = con.execute("SELECT count(*) FROM id_nodes").fetchone()[0]
    if n_keys == 0:  # only guests in this load
        con.execute("""CREATE OR REPLACE TEMP TABLE key_customer AS
                       SELECT key_type, key_value, customer_id, first_row, true AS is_new_key FROM id_nodes""")
        return IdentityPlan(customers_created=0, merges=_describe_merges(con, (np.array([], dtype=np.int64),) * 3))
    owned = con.execute(
        "SELECT node, customer_id FROM id_nodes WHERE customer_id IS NOT NULL ORDER BY node"
    ).fetchnumpy()
    links = con.execute(
        """SELECT s.node AS a, e.node AS b FROM stg_ids p
           JOIN id_nodes s ON s.key_type = 'source_id' AND s.key_value = p.source_key
           JOIN id_nodes e ON e.key_type = 'email' AND e.key_value = p.email
           ORDER BY a, b"""
    ).fetchnumpy()
    first_row = con.execute("SELECT first_row FROM id_nodes ORDER BY node").fetchnumpy()["first_row"]
    component = _components(n_keys, owned, links)
    customer_of_node, is_new, merges = _assign_customers(con, component, owned, first_row)
    merges = _via_links(merges, owned, links, n_keys)
    con.register("_assigned", pd.DataFrame({"node": np.arange(n_keys), "customer_id": customer_of_node}))
    con.execute(
        """CREATE OR REPLACE TEMP TABLE key_customer AS
           SELECT n.key_type, n.key_value, a.customer_id, n.first_row, n.customer_id IS NULL AS is_new_key
           FROM id_nodes n JOIN _assigned a USING (node)"""
    )
    con.unregister("_assigned")
    merges_frame = _describe_merges(con, merges)
    return IdentityPlan(customers_created=int(np.unique(customer_of_node[is_new]).size), merges=merges_frame)


def _number_nodes(con: duckdb.DuckDBPyConnection) -> None:
    """TEMP TABLE id_nodes: every distinct key of the batch, numbered, with the customer owning it."""
    con.execute(
        """CREATE OR REPLACE TEMP TABLE id_nodes AS
           SELECT (row_number() OVER (ORDER BY b.first_row, b.key_type, b.key_value) - 1)::BIGINT AS node,
                  b.key_type, b.key_value, b.first_row, k.customer_id
           FROM (SELECT 'source_id' AS key_type, source_key AS key_value, min(first_row) AS first_row
                 FROM stg_ids WHERE source_key IS NOT NULL GROUP BY source_key
                 UNION ALL
                 SELECT 'email', email, min(first_row) FROM stg_ids WHERE email IS NOT NULL GROUP BY email) b
           LEFT JOIN customer_keys k USING (key_type, key_value)"""
    )


def _components(n_keys: int, owned: dict, links: dict) -> np.ndarray:
    """Connected component of every key node; existing customers are extra nodes after the keys."""
    customers, customer_index = np.unique(owned["customer_id"], return_inverse=True)
    n_nodes = n_keys + len(customers)
    rows = np.concatenate([owned["node"], links["a"]]).astype(np.int64)
    cols = np.concatenate([n_keys + customer_index, links["b"]]).astype(np.int64)
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_nodes, n_nodes))
    _, labels = connected_components(graph, directed=False)
    return labels[:n_keys]


def _assign_customers(con: duckdb.DuckDBPyConnection, component: np.ndarray, owned: dict, first_row: np.ndarray):
    """Customer per key node (smallest existing id in its component, else a new id) and merges.

    Returns (customer id per node, whether that id is new, merges as (node, merged id, survivor id)).
    """
    n_components = int(component.max()) + 1 if component.size else 0
    no_customer = np.iinfo(np.int64).max
    survivor = np.full(n_components, no_customer, dtype=np.int64)
    owned_nodes = owned["node"].astype(np.int64)
    owned_ids = owned["customer_id"].astype(np.int64)
    np.minimum.at(survivor, component[owned_nodes], owned_ids)
    # Ids are never reused: a merged-away id stays in customer_merges, and explanations rely on it.
    next_id = con.execute(
        """SELECT greatest((SELECT coalesce(max(customer_id), 0) FROM customer_keys),
                           (SELECT coalesce(max(merged_customer_id), 0) FROM customer_merges))"""
    ).fetchone()[0]
    # New customers are numbered in the order they first appear in the file: stable across runs.
    first_seen = np.full(n_components, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_seen, component, first_row.astype(np.int64))
    orphans = np.flatnonzero(survivor == no_customer)
    orphans = orphans[np.argsort(first_seen[orphans], kind="stable")]
    survivor[orphans] = np.arange(next_id + 1, next_id + 1 + len(orphans))
    is_new_component = np.zeros(n_components, dtype=bool)
    is_new_component[orphans] = True
    into = survivor[component[owned_nodes]]
    merged = owned_ids != into
    merges = (owned_nodes[merged], owned_ids[merged], into[merged])
    return survivor[component], is_new_component[component], merges


def _via_links(merges: tuple[np.ndarray, ...], owned: dict, links: dict, n_keys: int) -> tuple[np.ndarray, ...]:
    """For each merge, prefer as 'via' a key of the merged customer that this load saw together
    with a key it did not own: the record that actually joined the two."""
    nodes, merged_ids, into_ids = merges
    if not len(nodes):
        return merges
    owner = np.full(n_keys, -1, dtype=np.int64)
    owner[owned["node"].astype(np.int64)] = owned["customer_id"].astype(np.int64)
    a, b = links["a"].astype(np.int64), links["b"].astype(np.int64)
    crossing = owner[a] != owner[b]
    ends = np.concatenate([a[crossing], b[crossing]])
    joined = {}
    for node in ends[::-1]:  # reversed so that the first crossing key of each customer wins
        joined[owner[node]] = node
    via = np.array([joined.get(m, n) for n, m in zip(nodes, merged_ids)], dtype=np.int64)
    return via, merged_ids, into_ids


def _describe_merges(con: duckdb.DuckDBPyConnection, merges: tuple[np.ndarray, ...]) -> pd.DataFrame:
    """One row per merged-away customer, with a key of theirs that this load linked to the survivor."""
    nodes, merged_ids, into_ids = merges
    frame = pd.DataFrame({"node": nodes, "merged_customer_id": merged_ids, "into_customer_id": into_ids})
    con.register("_merge_nodes", frame)
    described = con.execute(
        """SELECT m.merged_customer_id, m.into_customer_id, n.key_type AS via_key_type, n.key_value AS via_key_value
           FROM _merge_nodes m JOIN id_nodes n USING (node)
           QUALIFY row_number() OVER (PARTITION BY m.merged_customer_id ORDER BY n.node) = 1
           ORDER BY m.merged_customer_id"""
    ).df()
    con.unregister("_merge_nodes")
    return described


def apply_identities(con: duckdb.DuckDBPyConnection, plan: IdentityPlan, *, batch_id: str) -> IdentityOutcome:
    """Write the plan: new keys and links, merges (re-pointing orders and feedback). In the transaction."""
    keys_added = _store_new_keys(con, batch_id)
    if not plan.merges.empty:
        _apply_merges(con, plan.merges, batch_id)
    links_added = _store_links(con, batch_id)
    return IdentityOutcome(
        customers_created=plan.customers_created,
        customers_merged=int(plan.merges["merged_customer_id"].nunique()),
        keys_added=keys_added,
        links_added=links_added,
        survivors=sorted(int(c) for c in plan.merges["into_customer_id"].unique()),
    )


def _store_new_keys(con: duckdb.DuckDBPyConnection, batch_id: str) -> int:
    con.execute(
        """INSERT INTO customer_keys
           SELECT key_type, key_value, customer_id, ?, first_row FROM key_customer WHERE is_new_key""",
        [batch_id],
    )
    return con.execute("SELECT count(*) FROM key_customer WHERE is_new_key").fetchone()[0]


def _apply_merges(con: duckdb.DuckDBPyConnection, merges: pd.DataFrame, batch_id: str) -> None:
    """Re-point everything owned by merged customers to their survivor, and record why."""
    con.register("_merges", merges)
    con.execute("CREATE OR REPLACE TEMP TABLE merges AS SELECT * FROM _merges")
    con.unregister("_merges")
    for table in ("customer_keys", "orders", "feedback", "touchpoints"):
        con.execute(
            f"""UPDATE {table} SET customer_id = m.into_customer_id
                FROM merges m WHERE {table}.customer_id = m.merged_customer_id"""
        )
    con.execute(
        """INSERT INTO customer_merges
           SELECT merged_customer_id, into_customer_id, via_key_type, via_key_value, ?, ? FROM merges""",
        [batch_id, datetime.now(UTC)],
    )
    # The survivor keeps its own contact details and takes the merged customer's where it has none.
    con.execute(
        """UPDATE customers SET email = coalesce(customers.email, m.email), phone = coalesce(customers.phone, m.phone),
                  name = coalesce(customers.name, m.name)
           FROM (SELECT g.into_customer_id, any_value(c.email) AS email, any_value(c.phone) AS phone,
                        any_value(c.name) AS name
                 FROM merges g JOIN customers c ON c.customer_id = g.merged_customer_id GROUP BY 1) m
           WHERE customers.customer_id = m.into_customer_id"""
    )
    con.execute("DELETE FROM customers WHERE customer_id IN (SELECT merged_customer_id FROM merges)")


def _store_links(con: duckdb.DuckDBPyConnection, batch_id: str) -> int:
    before = con.execute("SELECT count(*) FROM customer_links").fetchone()[0]
    con.execute(
        """INSERT INTO customer_links
           SELECT p.source_key, p.email, ?, p.first_row
           FROM (SELECT source_key, email, min(first_row) AS first_row FROM stg_ids
                 WHERE source_key IS NOT NULL AND email IS NOT NULL
                 GROUP BY source_key, email) p
           ANTI JOIN customer_links l USING (source_key, email)""",
        [batch_id],
    )
    return con.execute("SELECT count(*) FROM customer_links").fetchone()[0] - before
