export type { RevocationEvent, RevocationInput, RevocationKind, RevocationListener, RevocationRecorder, Revocations } from './types.js';
export { createRevocationRecorder, createRevocations, type RevocationRecorderOptions, type RevocationsOptions } from './revocations.js';
