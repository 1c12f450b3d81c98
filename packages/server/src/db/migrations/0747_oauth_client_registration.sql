-- OAuth clients with GoTrue's registration fields (auth.admin.oauth.*): public clients have no secret;
-- the grant types, redirect URIs and token endpoint authentication method are those registered.
-- Clients made before keep what they were: confidential, client credentials only.
alter table auth.oauth_clients alter column secret_hash drop not null;
alter table auth.oauth_clients drop constraint if exists oauth_clients_name_check;
alter table auth.oauth_clients add constraint oauth_clients_name_length check (length(name) <= 1024);
alter table auth.oauth_clients add column if not exists client_type text not null default 'confidential'
  check (client_type in ('confidential', 'public'));
alter table auth.oauth_clients add column if not exists token_endpoint_auth_method text not null default 'client_secret_basic'
  check (token_endpoint_auth_method in ('none', 'client_secret_basic', 'client_secret_post'));
alter table auth.oauth_clients add column if not exists grant_types jsonb not null default '["client_credentials"]'::jsonb;
alter table auth.oauth_clients add column if not exists redirect_uris jsonb not null default '[]'::jsonb;
alter table auth.oauth_clients add column if not exists client_uri text;
alter table auth.oauth_clients add column if not exists logo_uri text;
alter table auth.oauth_clients add column if not exists registration_type text not null default 'manual';
