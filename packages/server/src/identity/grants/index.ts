export { GrantService, isGrantType, type GrantInputs, type GrantResults, type GrantType } from './service.js';
export type { GrantCaller } from './types.js';
export type { PasswordInput, SecondFactor } from './password.js';
