export { ConfigError } from './errors.js';
export * from './settings.js';
export { loadServerConfig, type ServerConfig, type ServerFlags, type DatabaseTarget, type LogLevel, type TlsFiles } from './server-config.js';
