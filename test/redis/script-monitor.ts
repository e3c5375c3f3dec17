/**
 * Counts the token-store Lua scripts a private redis-server runs, with MONITOR: each script
 * is recognised by the SHA-1 ioredis sends with EVALSHA (or by its text on an EVAL fallback).
 *
 * @example
 * const scripts = await monitorScripts(redis.url);
 * // ... drive the SDK ...
 * expect(scripts.count(INVALIDATE_SCRIPT)).toBe(1);
 * await scripts.close();
 */
import { createHash } from 'node:crypto';
import { Redis } from 'ioredis';

export interface ScriptMonitor {
  /**
   * Wait until MONITOR has shown every command Redis ran so far: its feed arrives on its own
   * connection, after the replies the SDK already got. Call before counting.
   */
  settle(): Promise<void>;
  /** Runs of this script seen since the monitor started (or since `reset`). */
  count(lua: string): number;
  /** Every command seen, by lower-case name (`evalsha`, `ping`, `subscribe`, …). */
  commands(): Record<string, number>;
  reset(): void;
  close(): Promise<void>;
}

const sha1 = (text: string) => createHash('sha1').update(text).digest('hex');

/** MONITOR quotes arguments the way redis-cli does (`\n`, `\\`, `\xHH`): undo it. */
function unescapeMonitorArg(text: string): string {
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', a: '\x07', b: '\b' };
  return text.replace(/\\(x[0-9a-f]{2}|.)/gi, (_, c: string) =>
    c.length === 3 ? String.fromCharCode(Number.parseInt(c.slice(1), 16)) : (simple[c] ?? c),
  );
}

/** Start monitoring the Redis at `url` (a private instance from test/helpers/redis.ts). */
export async function monitorScripts(url: string): Promise<ScriptMonitor> {
  const client = new Redis(url, { lazyConnect: true });
  await client.connect();
  const monitor = await client.monitor();
  const marker = new Redis(url, { lazyConnect: true });
  await marker.connect();
  let scripts = new Map<string, number>();
  let commands: Record<string, number> = {};
  const markers = new Map<string, () => void>();
  let nextMarker = 0;
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (args[0]?.toLowerCase() === 'echo' && args[1] && markers.has(args[1])) {
      markers.get(args[1])!();
      markers.delete(args[1]);
      return;
    }
    // Commands a script runs are shown too (source "lua"): count the script once, not its steps.
    if (source === 'lua' || args.length === 0) return;
    const name = args[0]!.toLowerCase();
    commands[name] = (commands[name] ?? 0) + 1;
    if (name === 'evalsha' && args[1]) scripts.set(args[1], (scripts.get(args[1]) ?? 0) + 1);
    if (name === 'eval' && args[1]) {
      const sha = sha1(unescapeMonitorArg(args[1]));
      scripts.set(sha, (scripts.get(sha) ?? 0) + 1);
    }
  });
  return {
    async settle() {
      const id = `script-monitor-marker-${nextMarker++}`;
      const seen = new Promise<void>((resolve) => markers.set(id, resolve));
      await marker.echo(id);
      await seen;
    },
    count: (lua) => scripts.get(sha1(lua)) ?? 0,
    commands: () => ({ ...commands }),
    reset() {
      scripts = new Map();
      commands = {};
    },
    async close() {
      monitor.disconnect();
      client.disconnect();
      marker.disconnect();
    },
  };
}
