-- The nodes of a deployment that share this database, each with fingerprints of the settings every node
-- must agree on (issuer, audience, keys, API keys, gateway secrets). A node refreshes `seen_at` while it
-- runs; rows not refreshed for a while belong to stopped nodes and are ignored and removed.
create table if not exists latchkey.cluster_nodes (
  node_id text primary key,
  url text not null,
  settings jsonb not null,
  started_at timestamptz not null default now(),
  seen_at timestamptz not null default now()
);
