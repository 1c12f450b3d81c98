import { ERROR_MESSAGES, ErrorCode, TEMPORARY_ERRORS } from '../protocol/codes.js';
import type { ErrorBody } from '../protocol/types.js';

/**
 * A Centrifugo protocol error reply (`{"code","message","temporary"?}`): thrown by RPC handlers to answer
 * with a specific error, and by the gateway's own command handlers. Use {@link ErrorCode} values or
 * application codes 400–1999. `temporary` defaults to whether the code is one the client retries.
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

  /** The error as the reply carries it; `temporary` only when true. */
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
export function rpcErrorReply(error: unknown): RpcError {
  if (error instanceof RpcError) return error;
  if (error instanceof Error && error.name === 'ZodError') return new RpcError(ErrorCode.BadRequest);
  switch (statusOf(error)) {
    case 400:
    case 422:
      return new RpcError(ErrorCode.BadRequest, error instanceof Error ? error.message : undefined);
    case 401:
      return new RpcError(ErrorCode.Unauthorized);
    case 403:
      return new RpcError(ErrorCode.PermissionDenied);
    case 404:
      return new RpcError(ErrorCode.MethodNotFound);
    case 429:
      return new RpcError(ErrorCode.TooManyRequests);
    default:
      return new RpcError(ErrorCode.Internal);
  }
}
