import protobuf from 'protobufjs';

/**
 * The Centrifugo client protocol v2 messages (package `centrifugal.centrifuge.protocol`) as a protobufjs
 * descriptor: every field with the number, type and label the protocol publishes, so the official SDKs'
 * protobuf builds read what the gateway writes and the other way round.
 */

/** A field: `[type, number]`, `['repeated', type, number]` or `['map', keyType, valueType, number]`. */
type FieldSpec = readonly [string, number] | readonly ['repeated', string, number] | readonly ['map', string, string, number];

interface FieldDescriptor {
  type: string;
  id: number;
  rule?: 'repeated';
  keyType?: string;
}

function message(fields: Readonly<Record<string, FieldSpec>>): { fields: Record<string, FieldDescriptor> } {
  const out: Record<string, FieldDescriptor> = {};
  for (const [name, spec] of Object.entries(fields)) {
    if (spec.length === 2) out[name] = { type: spec[0], id: spec[1] };
    else if (spec[0] === 'repeated') out[name] = { rule: 'repeated', type: spec[1], id: spec[2] };
    else out[name] = { keyType: spec[1], type: spec[2], id: spec[3] };
  }
  return { fields: out };
}

const MESSAGES = {
  Error: message({ code: ['uint32', 1], message: ['string', 2], temporary: ['bool', 3] }),
  EmulationRequest: message({ node: ['string', 1], session: ['string', 2], data: ['bytes', 3] }),
  Command: message({
    id: ['uint32', 1],
    connect: ['ConnectRequest', 4],
    subscribe: ['SubscribeRequest', 5],
    unsubscribe: ['UnsubscribeRequest', 6],
    publish: ['PublishRequest', 7],
    presence: ['PresenceRequest', 8],
    presence_stats: ['PresenceStatsRequest', 9],
    history: ['HistoryRequest', 10],
    ping: ['PingRequest', 11],
    send: ['SendRequest', 12],
    rpc: ['RPCRequest', 13],
    refresh: ['RefreshRequest', 14],
    sub_refresh: ['SubRefreshRequest', 15],
  }),
  Reply: message({
    id: ['uint32', 1],
    error: ['Error', 2],
    push: ['Push', 4],
    connect: ['ConnectResult', 5],
    subscribe: ['SubscribeResult', 6],
    unsubscribe: ['UnsubscribeResult', 7],
    publish: ['PublishResult', 8],
    presence: ['PresenceResult', 9],
    presence_stats: ['PresenceStatsResult', 10],
    history: ['HistoryResult', 11],
    ping: ['PingResult', 12],
    rpc: ['RPCResult', 13],
    refresh: ['RefreshResult', 14],
    sub_refresh: ['SubRefreshResult', 15],
  }),
  Push: message({
    id: ['int64', 1],
    channel: ['string', 2],
    pub: ['Publication', 4],
    join: ['Join', 5],
    leave: ['Leave', 6],
    unsubscribe: ['Unsubscribe', 7],
    message: ['Message', 8],
    subscribe: ['Subscribe', 9],
    connect: ['Connect', 10],
    disconnect: ['Disconnect', 11],
    refresh: ['Refresh', 12],
  }),
  Dictionary: message({ id: ['string', 1], data: ['bytes', 2], data_b64: ['string', 3] }),
  ClientInfo: message({ user: ['string', 1], client: ['string', 2], conn_info: ['bytes', 3], chan_info: ['bytes', 4] }),
  Publication: message({
    data: ['bytes', 4],
    info: ['ClientInfo', 5],
    offset: ['uint64', 6],
    tags: ['map', 'string', 'string', 7],
    delta: ['bool', 8],
    time: ['int64', 9],
    channel: ['string', 10],
    key: ['string', 11],
    removed: ['bool', 12],
    score: ['sint64', 13],
    epoch: ['string', 14],
    prev_data: ['bytes', 15],
    version: ['uint64', 16],
  }),
  Join: message({ info: ['ClientInfo', 1] }),
  Leave: message({ info: ['ClientInfo', 1] }),
  Unsubscribe: message({ code: ['uint32', 2], reason: ['string', 3] }),
  Subscribe: message({ recoverable: ['bool', 1], epoch: ['string', 4], offset: ['uint64', 5], positioned: ['bool', 6], data: ['bytes', 7] }),
  Message: message({ data: ['bytes', 1] }),
  Connect: message({
    client: ['string', 1],
    version: ['string', 2],
    data: ['bytes', 3],
    subs: ['map', 'string', 'SubscribeResult', 4],
    expires: ['bool', 5],
    ttl: ['uint32', 6],
    ping: ['uint32', 7],
    pong: ['bool', 8],
    session: ['string', 9],
    node: ['string', 10],
    time: ['int64', 11],
  }),
  Disconnect: message({ code: ['uint32', 1], reason: ['string', 2], reconnect: ['bool', 3] }),
  Refresh: message({ expires: ['bool', 1], ttl: ['uint32', 2] }),
  ConnectRequest: message({
    token: ['string', 1],
    data: ['bytes', 2],
    subs: ['map', 'string', 'SubscribeRequest', 3],
    name: ['string', 4],
    version: ['string', 5],
    headers: ['map', 'string', 'string', 6],
    flag: ['int64', 7],
    dict: ['string', 8],
    profile: ['string', 9],
  }),
  ConnectResult: message({
    client: ['string', 1],
    version: ['string', 2],
    expires: ['bool', 3],
    ttl: ['uint32', 4],
    data: ['bytes', 5],
    subs: ['map', 'string', 'SubscribeResult', 6],
    ping: ['uint32', 7],
    pong: ['bool', 8],
    session: ['string', 9],
    node: ['string', 10],
    time: ['int64', 11],
    flag: ['int64', 12],
    dict: ['Dictionary', 13],
  }),
  RefreshRequest: message({ token: ['string', 1] }),
  RefreshResult: message({ client: ['string', 1], version: ['string', 2], expires: ['bool', 3], ttl: ['uint32', 4] }),
  SubscribeRequest: message({
    channel: ['string', 1],
    token: ['string', 2],
    recover: ['bool', 3],
    epoch: ['string', 6],
    offset: ['uint64', 7],
    data: ['bytes', 8],
    positioned: ['bool', 9],
    recoverable: ['bool', 10],
    join_leave: ['bool', 11],
    delta: ['string', 12],
    tf: ['FilterNode', 13],
    flag: ['int64', 14],
    type: ['int32', 15],
    phase: ['int32', 16],
    cursor: ['string', 17],
    limit: ['int32', 18],
    asc: ['bool', 19],
  }),
  SubscribeResult: message({
    expires: ['bool', 1],
    ttl: ['uint32', 2],
    recoverable: ['bool', 3],
    epoch: ['string', 6],
    publications: ['repeated', 'Publication', 7],
    recovered: ['bool', 8],
    offset: ['uint64', 9],
    positioned: ['bool', 10],
    data: ['bytes', 11],
    was_recovering: ['bool', 12],
    delta: ['bool', 13],
    id: ['int64', 14],
    type: ['int32', 15],
    phase: ['int32', 16],
    cursor: ['string', 17],
    state: ['repeated', 'Publication', 18],
    publish_debounce: ['uint32', 19],
  }),
  KeyedItem: message({ key: ['string', 1], version: ['uint64', 2] }),
  TrackBatch: message({ signature: ['string', 1], items: ['repeated', 'KeyedItem', 2] }),
  SubRefreshRequest: message({
    channel: ['string', 1],
    token: ['string', 2],
    type: ['int32', 3],
    track: ['repeated', 'TrackBatch', 4],
    untrack: ['repeated', 'string', 5],
  }),
  SubRefreshResult: message({ expires: ['bool', 1], ttl: ['uint32', 2], items: ['repeated', 'Publication', 3] }),
  UnsubscribeRequest: message({ channel: ['string', 1] }),
  UnsubscribeResult: message({}),
  PublishRequest: message({ channel: ['string', 1], data: ['bytes', 2], type: ['int32', 3], key: ['string', 4], removed: ['bool', 5] }),
  PublishResult: message({}),
  PresenceRequest: message({ channel: ['string', 1] }),
  PresenceResult: message({ presence: ['map', 'string', 'ClientInfo', 1] }),
  PresenceStatsRequest: message({ channel: ['string', 1] }),
  PresenceStatsResult: message({ num_clients: ['uint32', 1], num_users: ['uint32', 2] }),
  StreamPosition: message({ offset: ['uint64', 1], epoch: ['string', 2] }),
  HistoryRequest: message({ channel: ['string', 1], limit: ['int32', 7], since: ['StreamPosition', 8], reverse: ['bool', 9] }),
  HistoryResult: message({ publications: ['repeated', 'Publication', 1], epoch: ['string', 2], offset: ['uint64', 3] }),
  PingRequest: message({}),
  PingResult: message({}),
  RPCRequest: message({ data: ['bytes', 1], method: ['string', 2] }),
  RPCResult: message({ data: ['bytes', 1] }),
  SendRequest: message({ data: ['bytes', 1] }),
  FilterNode: message({
    op: ['string', 1],
    key: ['string', 2],
    cmp: ['string', 3],
    val: ['string', 4],
    vals: ['repeated', 'string', 5],
    nodes: ['repeated', 'FilterNode', 6],
  }),
} as const;

const root = protobuf.Root.fromJSON({ nested: { centrifugal: { nested: { centrifuge: { nested: { protocol: { nested: MESSAGES } } } } } } });

/** Looks up one message type of the protocol. */
function type(name: keyof typeof MESSAGES): protobuf.Type {
  return root.lookupType(`centrifugal.centrifuge.protocol.${name}`);
}

/** Client → server. */
export const CommandType = type('Command');
/** Server → client: a reply to a command (`id` > 0) or a push (`id` 0). */
export const ReplyType = type('Reply');
/** A push on its own (inside a reply). */
export const PushType = type('Push');
