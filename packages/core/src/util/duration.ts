/** Durations as people write them in specs and on the command line: `500ms`, `90s`, `30m`, `2h`, `1h30m`. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/** Milliseconds, or undefined when `text` is not a duration (a bare number is not: say the unit). */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(trimmed)) return undefined;
  let total = 0;
  for (const [, amount, unit] of trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
    total += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return total > 0 ? Math.round(total) : undefined;
}

/** The largest unit that says it exactly: `2h`, `90m`, `45s`, `1500ms`. */
export function formatDuration(ms: number): string {
  for (const unit of ['h', 'm', 's'] as const) if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  return `${ms}ms`;
}

/** Node's timers wait at most 2^31-1 ms (a longer delay fires at once): the longest timeout we take, in whole hours. */
export const MAX_TIMEOUT_MS = 596 * 3_600_000;

/** A `timeout:` or `--timeout`: a duration of at least a second, no longer than a timer can wait; or why not, in words. */
export function parseTimeout(text: string): { ok: true; ms: number } | { ok: false; message: string; hint: string } {
  const ms = parseDuration(text);
  const hint = 'a number with its unit: 90s, 30m, 2h (or 1h30m)';
  if (ms === undefined) return { ok: false, message: `"${text}" is not a duration`, hint };
  if (ms < 1_000) return { ok: false, message: `a timeout of ${formatDuration(ms)} is too short: at least 1s`, hint };
  if (ms > MAX_TIMEOUT_MS)
    return { ok: false, message: `a timeout of ${text} is too long: at most ${formatDuration(MAX_TIMEOUT_MS)}`, hint };
  return { ok: true, ms };
}
