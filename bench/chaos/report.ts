/** Cuts the harness's observations into one line of figures per fault. */
import type { Observations, Outcome } from './load.js';

/** A fault's window: from the fault until the service was steady again. */
export interface Phase {
  readonly name: string;
  readonly start: number;
  end: number;
  /** Extra figures the fault measured itself (recovery times). */
  readonly notes: string[];
}

export interface PhaseFigures {
  readonly name: string;
  readonly seconds: number;
  readonly requests: number;
  /** Failed requests by outcome (`503`, `network`, …). */
  readonly failed: Readonly<Record<string, number>>;
  /** Longest time one virtual user had no successful request, in ms. */
  readonly longestHttpGapMs: number;
  /** Longest socket outage overlapping the window, and the 99th percentile of reconnect times started in it. */
  readonly longestSocketGapMs: number;
  readonly reconnectP99Ms: number;
  readonly socketsClosed: number;
  readonly sessionsLost: number;
  readonly publicationsLost: number;
  readonly notes: readonly string[];
}

function failedOutcome(outcome: Outcome): boolean {
  return typeof outcome !== 'number' || outcome >= 500 || outcome === 429 || outcome === 401 || outcome === 403;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** Publications acknowledged in the window that their subscriber never received. */
function lostPublications(observations: Observations, start: number, end: number): number {
  let lost = 0;
  for (const item of observations.published) {
    if (item.at < start || item.at > end) continue;
    if (!observations.received.get(item.channel)?.has(String(item.seq))) lost += 1;
  }
  return lost;
}

export function figures(observations: Observations, phase: Phase, stepMs: number): PhaseFigures {
  const { start, end } = phase;
  const failed: Record<string, number> = {};
  let requests = 0;
  for (const sample of observations.samples) {
    if (sample.at < start || sample.at > end) continue;
    requests += 1;
    // Requests without an answer name what they were, so a cut can be traced to the kind of request.
    if (failedOutcome(sample.outcome)) {
      const key = typeof sample.outcome === 'number' ? String(sample.outcome) : `${sample.outcome} (${sample.action})`;
      failed[key] = (failed[key] ?? 0) + 1;
    }
  }
  let longestHttpGapMs = 0;
  for (const times of observations.successes.values()) {
    for (let index = 1; index < times.length; index += 1) {
      const from = times[index - 1]!;
      const to = times[index]!;
      if (to < start || from > end) continue;
      longestHttpGapMs = Math.max(longestHttpGapMs, to - from);
    }
    const last = times[times.length - 1];
    if (last !== undefined && last < end && last >= start - stepMs * 4) longestHttpGapMs = Math.max(longestHttpGapMs, end - last);
  }
  let longestSocketGapMs = 0;
  const reconnects: number[] = [];
  let socketsClosed = 0;
  for (const outage of observations.outages) {
    const up = outage.up ?? end;
    if (up < start || outage.down > end) continue;
    longestSocketGapMs = Math.max(longestSocketGapMs, up - outage.down);
    if (outage.down >= start) {
      socketsClosed += 1;
      reconnects.push(up - outage.down);
    }
  }
  return {
    name: phase.name,
    seconds: Math.round((end - start) / 100) / 10,
    requests,
    failed,
    longestHttpGapMs: Math.round(longestHttpGapMs),
    longestSocketGapMs: Math.round(longestSocketGapMs),
    reconnectP99Ms: Math.round(percentile(reconnects, 99)),
    socketsClosed,
    sessionsLost: observations.sessionsLost.filter((lost) => lost.at >= start && lost.at <= end).length,
    publicationsLost: lostPublications(observations, start, end),
    notes: phase.notes,
  };
}

function describeFailed(failed: Readonly<Record<string, number>>): string {
  const entries = Object.entries(failed);
  return entries.length === 0 ? '0' : entries.map(([outcome, count]) => `${count}×${outcome}`).join(', ');
}

/** A Markdown table, one row per fault. */
export function table(rows: readonly PhaseFigures[]): string {
  const lines = [
    '| fault | s | requests | failed (by status) | longest without a working session | sockets closed | longest without a socket / reconnect p99 | sessions lost | publications lost | notes |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const row of rows) {
    lines.push(
      `| ${row.name} | ${row.seconds} | ${row.requests} | ${describeFailed(row.failed)} | ${(row.longestHttpGapMs / 1000).toFixed(1)} s | ${row.socketsClosed} | ${(row.longestSocketGapMs / 1000).toFixed(1)} s / ${(row.reconnectP99Ms / 1000).toFixed(1)} s | ${row.sessionsLost} | ${row.publicationsLost} | ${row.notes.join('; ')} |`,
    );
  }
  return lines.join('\n');
}
