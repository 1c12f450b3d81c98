// Kept apart from the listener so the declarations the package ships never name the driver's types.

/** What a listener does with the notifications of its channel. */
export interface NotificationHandlers {
  /** A notification arrived (its payload, `''` when none). */
  notify(payload: string): void;
  /** The listening connection was lost and is back: notifications sent meanwhile were missed. */
  reconnected(): void;
}

/** A `LISTEN` that lasts until closed. */
export interface Notifications {
  close(): Promise<void>;
}
