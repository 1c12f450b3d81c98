export type { RevocationEvent, RevocationInput, RevocationKind, RevocationListener, Revocations } from './types.js';
export { createRevocations, type RevocationsOptions } from './revocations.js';
