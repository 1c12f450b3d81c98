import { randomUUID } from 'node:crypto';
import type { GatewayClaims } from '../auth/claims.js';
import type { WireFormat } from '../protocol/codec.js';
import type { ClientInfo, JsonValue } from '../protocol/types.js';
import type { ProxyCaller } from '../proxy/http.js';
import { claimKeys, type SelectorKey } from '../revocation/selectors.js';
import type { ProxyCaller as RpcCaller } from '../rpc/registry.js';

/** Who a connection is: its id, peer, kept headers, and what its token (or the connect proxy) said. */
export class Identity {
  /** The client id (Centrifugo's `client`). */
  readonly id = randomUUID();
  /** The request headers kept for RPC handlers and proxies. */
  readonly headers: Readonly<Record<string, string>>;
  /** Where the peer address is read when first needed (reading it is a system call). */
  readonly #peer: string | { readonly remoteAddress?: string | undefined };
  #address: string | undefined;
  #user = '';
  #claims: GatewayClaims | null = null;
  #selectorKeys: readonly SelectorKey[] = [];
  /** Connection info (`info` claim) shown to others. */
  #info: JsonValue | undefined;
  #meta: JsonValue | undefined;

  /**
   * @param peer The socket's peer address, or the socket to read it from when first needed.
   * @param protocol The connection's wire format, named in proxy requests and RPC contexts.
   */
  constructor(
    headers: Readonly<Record<string, string>>,
    peer: string | { readonly remoteAddress?: string | undefined },
    readonly protocol: WireFormat = 'json',
  ) {
    this.headers = headers;
    this.#peer = peer;
  }

  /** The socket's peer address (the client, or the proxy in front of it). */
  get address(): string {
    if (this.#address === undefined) this.#address = typeof this.#peer === 'string' ? this.#peer : (this.#peer.remoteAddress ?? '');
    return this.#address;
  }

  /** The token's subject (`''`: anonymous). */
  get user(): string {
    return this.#user;
  }

  /** Verified connection token claims (`null`: no token). */
  get claims(): GatewayClaims | null {
    return this.#claims;
  }

  /** Where the node's revocation index files the connection (from {@link claims}). */
  get selectorKeys(): readonly SelectorKey[] {
    return this.#selectorKeys;
  }

  /** The subject of a connect token, before the token is accepted. */
  claimUser(user: string): void {
    this.#user = user;
  }

  /** Takes a connection token's claims (connect, refresh). */
  adopt(claims: GatewayClaims): void {
    this.#claims = claims;
    this.#selectorKeys = claimKeys(claims);
    this.#info = claims.info;
    this.#meta = claims.meta;
  }

  /** Takes what the connect proxy decided. */
  adoptProxied(decided: { readonly user: string; readonly info: JsonValue | undefined; readonly meta: JsonValue | undefined }): void {
    this.#user = decided.user;
    this.#info = decided.info;
    this.#meta = decided.meta;
  }

  /** New connection info from the refresh proxy. */
  updateInfo(info: JsonValue): void {
    this.#info = info;
  }

  /** Identity as shown in presence, join/leave and client publications. */
  clientInfo(chanInfo?: JsonValue): ClientInfo {
    const info: ClientInfo = { user: this.#user, client: this.id };
    if (this.#info !== undefined) info.conn_info = this.#info;
    if (chanInfo !== undefined) info.chan_info = chanInfo;
    return info;
  }

  /** Who is calling, for proxy requests. */
  caller(): ProxyCaller {
    return { client: this.id, user: this.#user, meta: this.#meta, headers: this.headers, protocol: this.protocol };
  }

  /** Who is calling an RPC method. */
  rpcCaller(method: string): RpcCaller {
    return { client: this.id, user: this.#user, method, claims: this.#claims, address: this.address, meta: this.#meta, headers: this.headers, protocol: this.protocol };
  }
}
