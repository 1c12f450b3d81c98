-- Every change of the signing keys — a rotation by a node, by `latchkey keys rotate` on the database
-- directly, or by SQL run by hand — is announced on the notification channel `latchkey_signing_keys`
-- when its transaction commits. Nodes on PostgreSQL listen on it and re-read the keys at once.
create or replace function latchkey.announce_signing_keys() returns trigger
language plpgsql as $$
begin
  perform pg_notify('latchkey_signing_keys', '');
  return null;
end;
$$;

drop trigger if exists signing_keys_announced on auth.signing_keys;
create trigger signing_keys_announced
  after insert or update or delete or truncate on auth.signing_keys
  for each statement execute function latchkey.announce_signing_keys();
