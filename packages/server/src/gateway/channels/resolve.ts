import { ErrorCode } from '../protocol/codes.js';
import type { ChannelSettings, NamespaceOptions } from './options.js';

/** A channel name understood against the namespace rules. */
export interface ResolvedChannel {
  readonly channel: string;
  readonly namespace: NamespaceOptions;
  /** The part after the namespace boundary (the whole name without a namespace). */
  readonly rest: string;
  /** Starts with the private prefix: subscribing needs a subscription token. */
  readonly isPrivate: boolean;
  /** Users named after the user boundary (`dialog#42,43`), or `null` when not user-limited. */
  readonly users: readonly string[] | null;
}

/**
 * Resolves `channel` to its namespace. Returns an error code instead: 102 for an empty name or an
 * unknown namespace, 107 for a name over the length limit or not matching `channel_regex`.
 */
export function resolveChannel(settings: ChannelSettings, channel: string): ResolvedChannel | ErrorCode {
  if (channel === '') return ErrorCode.UnknownChannel;
  if (channel.length > settings.maxLength) return ErrorCode.BadRequest;
  const isPrivate = settings.privatePrefix !== '' && channel.startsWith(settings.privatePrefix);
  const name = isPrivate ? channel.slice(settings.privatePrefix.length) : channel;
  const boundary = name.indexOf(settings.namespaceBoundary);
  let namespace: NamespaceOptions | undefined;
  let rest: string;
  if (boundary === -1) {
    namespace = settings.withoutNamespace;
    rest = name;
  } else {
    namespace = settings.namespaces.get(name.slice(0, boundary));
    rest = name.slice(boundary + settings.namespaceBoundary.length);
  }
  if (!namespace) return ErrorCode.UnknownChannel;
  if (namespace.channel_regex && !namespace.channel_regex.test(rest)) return ErrorCode.BadRequest;
  let users: string[] | null = null;
  if (namespace.allow_user_limited_channels) {
    const at = channel.lastIndexOf(settings.userBoundary);
    if (at !== -1) users = channel.slice(at + settings.userBoundary.length).split(settings.userSeparator).filter((user) => user !== '');
  }
  return { channel, namespace, rest, isPrivate, users };
}

/** The organization id from token claims (`app_metadata.organization_id`), as a string, or `null`. */
export function organizationOf(claims: { readonly app_metadata?: { readonly organization_id?: unknown } } | null): string | null {
  const id = claims?.app_metadata?.organization_id;
  if (typeof id === 'string' && id !== '') return id;
  if (typeof id === 'number') return String(id);
  return null;
}
