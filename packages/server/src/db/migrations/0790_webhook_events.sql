-- Inbound webhook events: one row per delivery an endpoint accepted (signature verified). The delivery
-- key is the provider's delivery id (Stripe event id, Shopify webhook id, Standard Webhooks message id)
-- or the SHA-256 of the body where the provider sends none; a second delivery with the same key on the
-- same endpoint is a duplicate (insert … on conflict do nothing) and stores nothing new.
create table if not exists latchkey.webhook_events (
  id bigserial primary key,
  endpoint text not null,
  delivery_key text not null,
  headers jsonb not null,
  body bytea not null,
  received_at timestamptz not null default now(),
  -- Forwarding to the endpoint's forward URL: attempts made, last outcome, when it succeeded.
  forward_attempts integer not null default 0,
  forward_status text not null default 'none',
  forward_error text,
  forwarded_at timestamptz,
  replayed_at timestamptz,
  unique (endpoint, delivery_key)
);

-- Listing goes newest first, per endpoint or across all.
create index if not exists webhook_events_endpoint_id_idx on latchkey.webhook_events (endpoint, id desc);
