-- Phone sign-in: the development SMS outbox, pending phone changes, and texted one-time codes.

-- Text messages kept instead of sent when no SMS provider is configured.
create table if not exists auth.sms_outbox (
  id bigserial primary key,
  recipient text not null,
  body text not null,
  channel text not null default 'sms',
  created_at timestamptz not null default now()
);
create index if not exists sms_outbox_recipient_idx on auth.sms_outbox (recipient, id desc);

-- A phone change waits in `phone_change` until the code texted to the new number is confirmed.
alter table auth.users add column if not exists phone_change text;
alter table auth.users add column if not exists phone_change_sent_at timestamptz;

-- Texted codes reuse one-time tokens: `confirmation` for sign-in codes, `phone_change` for the new number.
alter table auth.one_time_tokens drop constraint if exists one_time_tokens_token_type_check;
alter table auth.one_time_tokens add constraint one_time_tokens_token_type_check
  check (token_type in ('confirmation', 'recovery', 'magiclink', 'invite', 'email_change_current', 'email_change_new', 'reauthentication', 'phone_change'));
