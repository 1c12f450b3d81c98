export { UnsafeInputError, type InputLocation, type UnsafeInputReason } from './errors.js';
export { DEFAULT_BODY_LIMIT, DEFAULT_INPUT_LIMITS, DEFAULT_MAX_JSON_DEPTH, type InputLimits } from './limits.js';
export { parseJsonText, scanJsonText } from './json-text.js';
export { findUnsafeValue } from './values.js';
export { checkRequestInput, createInputSafety, type InputSafety } from './fastify.js';
export { repairPathEscapes } from './url.js';
