/**
 * Node-only parts of the SDK: the file store and the default session paths.
 *
 * @module
 */
export { FileTokenStore, type FileTokenStoreOptions } from './stores/file.js';
export { withFileLock, type FileLockOptions } from './stores/file-lock.js';
export { defaultSessionPath, defaultConfigPath } from './paths.js';
export { createNodeRealtimeClient } from './node-realtime.js';
