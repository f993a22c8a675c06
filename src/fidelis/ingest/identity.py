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
    """
    pairs = con.execute("SELECT source_key, email, first_row FROM stg_ids").df()
    owners = _existing_owners(con, _batch_keys(pairs))
    components = _components(pairs, owners)
    assigned, merges = _assign_customers(con, owners, components)
    con.register("_assigned", assigned)
    con.execute(
        "CREATE OR REPLACE TEMP TABLE key_customer AS SELECT key_type, key_value, customer_id FROM _assigned"
    )
    con.unregister("_assigned")
    created = int(assigned.loc[assigned["is_new_customer"], "customer_id"].nunique())
    return IdentityPlan(customers_created=created, merges=merges)


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


def _batch_keys(pairs: pd.DataFrame) -> pd.DataFrame:
    """Distinct keys of the batch with the first row each appears on (for stable new ids)."""
    frames = [
        pairs.dropna(subset=[column]).groupby(column, as_index=False)["first_row"].min()
        .rename(columns={column: "key_value"}).assign(key_type=key_type)
        for column, key_type in (("source_key", "source_id"), ("email", "email"))
    ]
    return pd.concat(frames, ignore_index=True)[["key_type", "key_value", "first_row"]]


def _existing_owners(con: duckdb.DuckDBPyConnection, keys: pd.DataFrame) -> pd.DataFrame:
    """Each batch key with the customer that already owns it (NA when new)."""
    con.register("_batch_keys", keys)
    owners = con.execute(
        """SELECT b.key_type, b.key_value, b.first_row, k.customer_id
           FROM _batch_keys b LEFT JOIN customer_keys k USING (key_type, key_value)
           ORDER BY b.first_row, b.key_type, b.key_value"""
    ).df()
    con.unregister("_batch_keys")
    owners["customer_id"] = owners["customer_id"].astype("Int64")
    return owners


def _components(pairs: pd.DataFrame, owners: pd.DataFrame) -> pd.DataFrame:
    """Connected component of every batch key over key-key and key-customer edges."""
    key_labels = np.where(owners["key_type"] == "email", "e:", "s:") + owners["key_value"].astype(str)
    owned = owners["customer_id"].notna().to_numpy()
    customer_labels = "c:" + owners.loc[owned, "customer_id"].astype(str).to_numpy()
    both = pairs.dropna(subset=["source_key", "email"])
    link_a = "s:" + both["source_key"].astype(str).to_numpy()
    link_b = "e:" + both["email"].astype(str).to_numpy()
    codes, uniques = pd.factorize(np.concatenate([key_labels, customer_labels, link_a, link_b]))
    n_keys, n_owned, n_links = len(key_labels), len(customer_labels), len(link_a)
    key_codes = codes[:n_keys]
    rows = np.concatenate([key_codes[owned], codes[n_keys + n_owned: n_keys + n_owned + n_links]])
    cols = np.concatenate([codes[n_keys: n_keys + n_owned], codes[n_keys + n_owned + n_links:]])
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(len(uniques), len(uniques)))
    _, labels = connected_components(graph, directed=False)
    out = owners.copy()
    out["component"] = labels[key_codes]
    return out


def _assign_customers(con: duckdb.DuckDBPyConnection, owners: pd.DataFrame, components: pd.DataFrame):
    """Survivor id per component (smallest existing id, else a new id) and the merges it implies."""
    existing = components.dropna(subset=["customer_id"])
    survivor = existing.groupby("component")["customer_id"].min()
    # Ids are never reused: a merged-away id stays in customer_merges, and explanations rely on it.
    next_id = con.execute(
        """SELECT greatest((SELECT coalesce(max(customer_id), 0) FROM customer_keys),
                           (SELECT coalesce(max(merged_customer_id), 0) FROM customer_merges))"""
    ).fetchone()[0]
    # New customers are numbered in the order they first appear in the file: stable across runs.
    first_seen = components.groupby("component")["first_row"].min()
    orphan_components = first_seen.drop(survivor.index).sort_values(kind="stable").index.to_numpy()
    new_ids = pd.Series(np.arange(next_id + 1, next_id + 1 + len(orphan_components)), index=orphan_components)
    all_ids = pd.concat([survivor.astype("int64"), new_ids])
    assigned = components.copy()
    assigned["customer_id"] = assigned["component"].map(all_ids).astype("int64")
    assigned["is_new_customer"] = assigned["component"].isin(orphan_components)
    merged = existing[existing["customer_id"] != existing["component"].map(survivor)]
    merges = pd.DataFrame({
        "merged_customer_id": merged["customer_id"].astype("int64"),
        "into_customer_id": merged["component"].map(survivor).astype("int64"),
        "via_key_type": merged["key_type"],
        "via_key_value": merged["key_value"],
    }).drop_duplicates("merged_customer_id")
    return assigned[["key_type", "key_value", "customer_id", "is_new_customer"]], merges


def _store_new_keys(con: duckdb.DuckDBPyConnection, batch_id: str) -> int:
    before = con.execute("SELECT count(*) FROM customer_keys").fetchone()[0]
    con.execute(
        """INSERT INTO customer_keys
           SELECT kc.key_type, kc.key_value, kc.customer_id, ?, f.first_row
           FROM key_customer kc
           JOIN (SELECT 'source_id' AS key_type, source_key AS key_value, min(first_row) AS first_row
                 FROM stg_ids WHERE source_key IS NOT NULL GROUP BY ALL
                 UNION ALL
                 SELECT 'email', email, min(first_row) FROM stg_ids WHERE email IS NOT NULL GROUP BY ALL) f
             USING (key_type, key_value)
           ANTI JOIN customer_keys k USING (key_type, key_value)""",
        [batch_id],
    )
    return con.execute("SELECT count(*) FROM customer_keys").fetchone()[0] - before


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
