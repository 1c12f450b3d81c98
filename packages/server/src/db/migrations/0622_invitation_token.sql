-- Answering an invitation needs proof of the mailbox: a random token carried only in the invitation mail.
-- Only its SHA-256 digest is stored; a new token goes out with every new mail. An invitation dies after
-- five wrong tokens (`failed_attempts`). Invitations made before this have no token and must be sent again.
alter table auth.organization_invitations add column if not exists token_digest bytea;
alter table auth.organization_invitations add column if not exists failed_attempts integer not null default 0;

-- Deleting a user (or soft-deleting one) withdraws the pending invitations they sent, in the same
-- transaction: an invitation never outlives the account that vouched for it.
create or replace function auth.withdraw_invitations_of_deleted_user() returns trigger
language plpgsql security definer set search_path = pg_catalog, auth as $$
begin
  update auth.organization_invitations set status = 'revoked', responded_at = now()
   where invited_by = old.id and status = 'pending';
  return case when tg_op = 'DELETE' then old else new end;
end
$$;
drop trigger if exists users_withdraw_invitations_on_delete on auth.users;
create trigger users_withdraw_invitations_on_delete before delete on auth.users
  for each row execute function auth.withdraw_invitations_of_deleted_user();
drop trigger if exists users_withdraw_invitations_on_soft_delete on auth.users;
create trigger users_withdraw_invitations_on_soft_delete after update of deleted_at on auth.users
  for each row when (old.deleted_at is null and new.deleted_at is not null)
  execute function auth.withdraw_invitations_of_deleted_user();
