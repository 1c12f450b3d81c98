/**
 * Channel namespace options, under Centrifugo's names. Only the options below are supported; others in a
 * config file are reported at start.
 */
export interface NamespaceOptions {
  /** Namespace name (`""` for channels without a namespace). */
  readonly name: string;
  /** Keep presence for the channel's subscribers. Default false. */
  readonly presence: boolean;
  /** Publish join/leave messages. Default false. */
  readonly join_leave: boolean;
  /** Push join/leave to every subscriber, not only those asking for it. Default false. */
  readonly force_push_join_leave: boolean;
  /** Any authenticated connection may subscribe. Default false. */
  readonly allow_subscribe_for_client: boolean;
  /** Anonymous connections may subscribe too (with `allow_subscribe_for_client`). Default false. */
  readonly allow_subscribe_for_anonymous: boolean;
  /** Any authenticated connection may publish. Default false. */
  readonly allow_publish_for_client: boolean;
  /** Subscribers of the channel may publish. Default false. */
  readonly allow_publish_for_subscriber: boolean;
  /** Anonymous connections may publish too. Default false. */
  readonly allow_publish_for_anonymous: boolean;
  /** Any authenticated connection may ask for presence. Default false. */
  readonly allow_presence_for_client: boolean;
  /** Subscribers may ask for presence. Default false. */
  readonly allow_presence_for_subscriber: boolean;
  /** Anonymous connections may ask for presence too. Default false. */
  readonly allow_presence_for_anonymous: boolean;
  /** Channels like `dialog#42,43` may be subscribed by the listed users. Default false. */
  readonly allow_user_limited_channels: boolean;
  /** Regular expression the part after the namespace must match. Default none. */
  readonly channel_regex: RegExp | null;
  /** Publications kept per channel (`history_size`); 0 = no history. Default 0. */
  readonly history_size: number;
  /** Seconds publications are kept after the last one (`history_ttl`); 0 = no history. Default 0. */
  readonly history_ttl: number;
  /** Seconds a channel's offset and epoch outlive its last publish or read; 0 = the channel-wide `history_meta_ttl`. Default 0. */
  readonly history_meta_ttl: number;
  /** Every subscription is positioned (offset/epoch in the reply, gaps close with 3010). Default false. */
  readonly force_positioning: boolean;
  /** Subscriptions asking for positioning get it. Default false. */
  readonly allow_positioning: boolean;
  /** Every subscription is recoverable (missed publications come back on resubscribe). Default false. */
  readonly force_recovery: boolean;
  /** Subscriptions asking for recovery get it. Default false. */
  readonly allow_recovery: boolean;
  /** Subscribers may read the channel's history. Default false. */
  readonly allow_history_for_subscriber: boolean;
  /** Any authenticated connection may read history. Default false. */
  readonly allow_history_for_client: boolean;
  /** Anonymous connections may read history too. Default false. */
  readonly allow_history_for_anonymous: boolean;
  /** Delta encodings subscribers may ask for (only `fossil`). Default none. */
  readonly allowed_delta_types: readonly 'fossil'[];
  /** Publications go out as deltas to subscribers that negotiated them. Default false. */
  readonly delta_publish: boolean;
  /** Subscribes without a subscription token are decided by the subscribe proxy. Default false. */
  readonly subscribe_proxy_enabled: boolean;
  /** Client publications are decided (and may be rewritten) by the publish proxy. Default false. */
  readonly publish_proxy_enabled: boolean;
  /** Subscriptions the subscribe proxy gave an expiry are refreshed by the sub_refresh proxy. Default false. */
  readonly sub_refresh_proxy_enabled: boolean;
  /**
   * Latchkey extension: the part after the namespace must equal the token's
   * `app_metadata.organization_id` for subscribe, publish and presence (error 103 otherwise).
   */
  readonly organization_bound: boolean;
  /**
   * Latchkey extension: only connections whose token has `role: "service_role"` may subscribe without a
   * subscription token (error 103 otherwise). Set on the `webhooks` namespace. Default false.
   */
  readonly service_role_only: boolean;
}

/** Boolean option names accepted in namespaces. */
export const BOOLEAN_NAMESPACE_OPTIONS = [
  'presence',
  'join_leave',
  'force_push_join_leave',
  'allow_subscribe_for_client',
  'allow_subscribe_for_anonymous',
  'allow_publish_for_client',
  'allow_publish_for_subscriber',
  'allow_publish_for_anonymous',
  'allow_presence_for_client',
  'allow_presence_for_subscriber',
  'allow_presence_for_anonymous',
  'allow_user_limited_channels',
  'force_positioning',
  'allow_positioning',
  'force_recovery',
  'allow_recovery',
  'allow_history_for_subscriber',
  'allow_history_for_client',
  'allow_history_for_anonymous',
  'delta_publish',
  'subscribe_proxy_enabled',
  'publish_proxy_enabled',
  'sub_refresh_proxy_enabled',
] as const;

export type BooleanNamespaceOption = (typeof BOOLEAN_NAMESPACE_OPTIONS)[number];

/** A namespace with every option off. */
export function namespaceDefaults(name: string): NamespaceOptions {
  return {
    name,
    presence: false,
    join_leave: false,
    force_push_join_leave: false,
    allow_subscribe_for_client: false,
    allow_subscribe_for_anonymous: false,
    allow_publish_for_client: false,
    allow_publish_for_subscriber: false,
    allow_publish_for_anonymous: false,
    allow_presence_for_client: false,
    allow_presence_for_subscriber: false,
    allow_presence_for_anonymous: false,
    allow_user_limited_channels: false,
    history_size: 0,
    history_ttl: 0,
    history_meta_ttl: 0,
    force_positioning: false,
    allow_positioning: false,
    force_recovery: false,
    allow_recovery: false,
    allow_history_for_subscriber: false,
    allow_history_for_client: false,
    allow_history_for_anonymous: false,
    allowed_delta_types: [],
    delta_publish: false,
    subscribe_proxy_enabled: false,
    publish_proxy_enabled: false,
    sub_refresh_proxy_enabled: false,
    channel_regex: null,
    organization_bound: false,
    service_role_only: false,
  };
}

/** Channel naming rules and namespaces. */
export interface ChannelSettings {
  /** Prefix of channels that need a subscription token. Default `$`. */
  readonly privatePrefix: string;
  /** Separates namespace from the rest. Default `:`. */
  readonly namespaceBoundary: string;
  /** Starts the user list of a user-limited channel. Default `#`. */
  readonly userBoundary: string;
  /** Separates users in a user-limited channel. Default `,`. */
  readonly userSeparator: string;
  /** Longest channel name. Default 255. */
  readonly maxLength: number;
  /** Seconds a channel's offset and epoch outlive its last publish or read (`channel.history_meta_ttl`). Default 2592000 (30 days). */
  readonly historyMetaTtl: number;
  readonly withoutNamespace: NamespaceOptions;
  readonly namespaces: ReadonlyMap<string, NamespaceOptions>;
}

/** Default channel-wide `history_meta_ttl`: 30 days, as Centrifugo's. */
export const DEFAULT_HISTORY_META_TTL = 30 * 24 * 3600;

/**
 * What makes the default namespaces recoverable: the last 100 publications of the last 10 minutes are
 * kept, and every subscription recovers what it missed while disconnected; subscribers may read history.
 */
const RECOVERABLE = {
  history_size: 100,
  history_ttl: 600,
  force_recovery: true,
  allow_history_for_subscriber: true,
} as const;

/** Whether publications on the namespace's channels are kept in a stream. */
export function keepsHistory(namespace: NamespaceOptions): boolean {
  return namespace.history_size > 0 && namespace.history_ttl > 0;
}

/**
 * The namespaces used when no config file defines any: `org:<organization id>` (members of the
 * organization subscribe, see presence and join/leave) and `user:#<user id>` (the user's own channel).
 * Both are recoverable.
 */
export function defaultNamespaces(organizationNamespace: string | null): NamespaceOptions[] {
  const namespaces: NamespaceOptions[] = [
    { ...namespaceDefaults('user'), ...RECOVERABLE, allow_user_limited_channels: true },
  ];
  if (organizationNamespace) namespaces.push(organizationNamespaceDefaults(organizationNamespace));
  namespaces.push(webhooksNamespaceDefaults());
  return namespaces;
}

/** Inbound webhook events (`webhooks:<endpoint>`): subscribable only by connections with a service-role token. */
export function webhooksNamespaceDefaults(): NamespaceOptions {
  return { ...namespaceDefaults('webhooks'), allow_subscribe_for_client: true, service_role_only: true };
}

/** The organization namespace's defaults. */
export function organizationNamespaceDefaults(name: string): NamespaceOptions {
  return {
    ...namespaceDefaults(name),
    ...RECOVERABLE,
    presence: true,
    join_leave: true,
    allow_subscribe_for_client: true,
    allow_presence_for_subscriber: true,
    organization_bound: true,
  };
}
