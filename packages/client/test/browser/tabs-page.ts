/**
 * A page that keeps using one shared session, as each tab of an app would: bundled for the browser by
 * the tabs test and opened in several tabs of one Chromium profile.
 */
import { LatchkeyApi, StorageTokenStore } from '@latchkey/client';

interface TabState {
  signedOut: string[];
  errors: string[];
  accessTokens: string[];
  calls: number;
  tokenRequests: () => number;
  signIn(email: string, password: string): Promise<void>;
  start(): void;
  stop(): void;
  signOut(): Promise<void>;
}

const anonKey = new URLSearchParams(location.search).get('anon') ?? '';
const api = new LatchkeyApi(location.origin, { anonKey, store: new StorageTokenStore(localStorage), expirySkew: 2 });
let timer: ReturnType<typeof setInterval> | undefined;
const state: TabState = {
  signedOut: [],
  errors: [],
  accessTokens: [],
  calls: 0,
  tokenRequests: () => api.tokens.tokenRequests,
  async signIn(email, password) {
    await api.auth.login({ email, password });
  },
  start() {
    timer = setInterval(() => {
      void (async () => {
        let tokens: Awaited<ReturnType<typeof api.tokens.getTokens>> | undefined;
        const at = Date.now();
        try {
          tokens = await api.tokens.getTokens();
          if (!state.accessTokens.includes(tokens.accessToken)) state.accessTokens.push(tokens.accessToken);
          await api.request('GET', '/auth/v1/user');
          state.calls += 1;
        } catch (error) {
          state.errors.push(`${String(error)} (asked at ${at}, token valid until ${tokens?.accessExpiresAt ?? 'none'})`);
        }
      })();
    }, 1000);
  },
  stop() {
    clearInterval(timer);
  },
  async signOut() {
    await api.auth.logout();
  },
};
api.tokens.on('signedOut', (event) => state.signedOut.push(event.reason));
(globalThis as unknown as { tab: TabState }).tab = state;
