-- When a user was invited (`POST /invite`, `generate_link` of type `invite`), as GoTrue's column.
alter table auth.users add column if not exists invited_at timestamptz;
