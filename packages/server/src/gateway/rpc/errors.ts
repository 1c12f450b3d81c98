import { ERROR_MESSAGES, ErrorCode, TEMPORARY_ERRORS } from '../protocol/codes.js';
import type { ErrorBody } from '../protocol/types.js';

/**
 * Thrown by RPC handlers to answer with a specific protocol error. Use {@link ErrorCode} values or
 * application codes 400–1999.
 *
 * @example
 * ```ts
 * throw new RpcError(ErrorCode.PermissionDenied);
 * throw new RpcError(404, 'note not found');
 * ```
 */
export class RpcError extends Error {
  override readonly name = 'RpcError';
  constructor(
    readonly code: number,
    message?: string,
    readonly temporary: boolean = TEMPORARY_ERRORS.has(code),
  ) {
    super(message ?? ERROR_MESSAGES[code as ErrorCode] ?? 'error');
  }
}

/** A protocol error reply raised inside a command handler. */
export class ReplyError extends Error {
  override readonly name = 'ReplyError';
  constructor(
    readonly code: number,
    message?: string,
    readonly temporary: boolean = TEMPORARY_ERRORS.has(code),
  ) {
    super(message ?? ERROR_MESSAGES[code as ErrorCode] ?? 'error');
  }
  toBody(): ErrorBody {
    return this.temporary ? { code: this.code, message: this.message, temporary: true } : { code: this.code, message: this.message };
  }
}

/** A disconnect (WebSocket close) raised inside a command handler. */
export class DisconnectError extends Error {
  override readonly name = 'DisconnectError';
  constructor(
    readonly code: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

function statusOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const record = error as { statusCode?: unknown; status?: unknown };
  const status = record.statusCode ?? record.status;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Maps what an RPC handler threw to the error the client sees: {@link RpcError} as given; HTTP-style
 * errors by status (400/422 → 107, 401 → 101, 403 → 103, 404 → 104, 429 → 111); validation errors
 * (`ZodError`) → 107; anything else → 100 (temporary), without the internal message.
 */
export function rpcErrorReply(error: unknown): ReplyError {
  if (error instanceof RpcError || error instanceof ReplyError) return new ReplyError(error.code, error.message, error.temporary);
  if (error instanceof Error && error.name === 'ZodError') return new ReplyError(ErrorCode.BadRequest);
  switch (statusOf(error)) {
    case 400:
    case 422:
      return new ReplyError(ErrorCode.BadRequest, error instanceof Error ? error.message : undefined);
    case 401:
      return new ReplyError(ErrorCode.Unauthorized);
    case 403:
      return new ReplyError(ErrorCode.PermissionDenied);
    case 404:
      return new ReplyError(ErrorCode.MethodNotFound);
    case 429:
      return new ReplyError(ErrorCode.TooManyRequests);
    default:
      return new ReplyError(ErrorCode.Internal);
  }
}
