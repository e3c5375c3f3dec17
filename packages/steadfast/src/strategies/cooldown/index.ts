import { randomUUID } from 'node:crypto';
import type { cooldownSchema } from '../../config/admission-schema.js';
import type { Resolved } from '../../config/schema.js';
import type { ClientEvents } from '../../pipeline/client-events.js';
import type { CooldownSource } from '../../pipeline/events.js';
import { abortedOutcome } from '../../pipeline/outcomes.js';
import { onAbort } from '../../pipeline/signals.js';
import type { CallContext, Next, Outcome, Strategy } from '../../pipeline/types.js';
import { refusal, reportGrant, waitBound } from '../admission.js';
import { cooldownSignal } from './signals.js';
import type { CooldownNotice, CooldownStore } from './store.js';

export type ResolvedCooldownOptions = Readonly<
  Omit<Resolved<typeof cooldownSchema>, 'store' | 'key'>
> & {
  readonly store: CooldownStore;
  /** The namespace of the pauses in the store. */
  readonly key: string;
};

/** Most scopes tracked at once; past it, ended ones nobody waits on go first. */
const MAX_SCOPES = 10_000;
/** A notice of a pause ending within this of our own is our own echo, not news. */
const ECHO_MS = 50;

/** A paused scope, from the answer that paused it until the probe after it was answered. */
interface Pause {
  until: number;
  source: CooldownSource;
  readonly startedAt: number;
  timer: NodeJS.Timeout | undefined;
  /** This instance's attempt that probes the scope now, if any. */
  probing: boolean;
  /** This instance asked the store for the probe and lost: another instance probes until then. */
  othersProbeUntil: number;
  /** A claim being asked of the store. */
  claiming: Promise<boolean> | undefined;
  readonly waiters: Set<() => void>;
}

/**
 * Server-driven cooldown: an answer that asks for a pause (cooldown/signals.ts) pauses its
 * scope — the origin, or a partition — locally at once and for the fleet through the store.
 * Attempts in the pause wait for its end within their deadline (or `maxWaitMs`), else fail
 * with `RateLimitedError` carrying the time left. After the pause one attempt in the whole
 * fleet goes as the probe; the others go when it is answered without a new pause (or, if it
 * never reports back, after `probeTimeoutMs`, when another instance may probe).
 * Inside retry, so a re-send waits like a first attempt; outside the breaker, so a paused
 * origin is not a failing one.
 */
export class Cooldown implements Strategy {
  readonly name = 'cooldown';
  readonly #instance = randomUUID();
  readonly #pauses = new Map<string, Pause>();
  readonly #unwatch: () => void;
  #closed = false;

  constructor(
    private readonly options: ResolvedCooldownOptions,
    private readonly events: ClientEvents,
    private readonly client: string,
  ) {
    options.store.attach();
    this.#unwatch = options.store.watch(options.key, (notice) => this.#notice(notice));
  }

  execute(ctx: CallContext, next: Next): Promise<Outcome> {
    const scope = this.options.partition ? this.options.partition(ctx) : ctx.origin;
    const pause = this.#pauses.get(scope);
    if (pause === undefined) return this.#observe(next(ctx), scope, false); // no pause: go
    return this.#gate(ctx, next, scope, pause);
  }

  /** Read the answer: a pause it asks for starts one; a probe's other answer ends the pause. */
  #observe(pending: Promise<Outcome>, scope: string, probe: boolean): Promise<Outcome> {
    return pending.then(
      (outcome) => {
        const response = outcome.kind === 'response' ? outcome.response : undefined;
        const signal = response && cooldownSignal(response.status, response.headers);
        if (signal) this.#pause(scope, signal.ms, signal.source, true);
        else if (probe) this.#resume(scope, true);
        return outcome;
      },
      (error: unknown) => {
        if (probe) this.#resume(scope, true);
        throw error;
      },
    );
  }

  async #gate(ctx: CallContext, next: Next, scope: string, first: Pause): Promise<Outcome> {
    const started = performance.now();
    const bound = waitBound(ctx, this.options.maxWaitMs, started);
    let pause: Pause | undefined = first;
    while (pause) {
      if (this.#closed) return refusal(this.events, ctx, 'cooldown', 1, 'closed', 0);
      const now = performance.now();
      if (pause.until > now) {
        // Paused: the end is known, so an attempt that cannot wait for it fails at once.
        if (pause.until > bound.at) {
          return refusal(this.events, ctx, 'cooldown', 1, bound.reason, pause.until - now);
        }
      } else if (!pause.probing && pause.othersProbeUntil <= now) {
        if (await this.#claim(scope, pause)) {
          reportGrant(this.events, ctx, 'cooldown', 1, performance.now() - started);
          return this.#observe(next(ctx), scope, true);
        }
        pause = this.#pauses.get(scope);
        continue;
      } else if (now >= bound.at) {
        // Someone probes and its answer did not come by this attempt's bound.
        return refusal(this.events, ctx, 'cooldown', 1, bound.reason, now - started);
      }
      // Wait for the pause's end, or for the probe's answer (a notice wakes us), or for the
      // probe to lapse — at most until this attempt's bound, checked when we wake.
      const lapse = pause.probing ? now + this.options.probeTimeoutMs : pause.othersProbeUntil;
      const wakeAt = Math.min(pause.until > now ? pause.until : lapse, bound.at);
      if (!(await this.#sleep(pause, wakeAt - now, ctx))) {
        if (ctx.signal?.aborted) return abortedOutcome(ctx);
        return refusal(this.events, ctx, 'cooldown', 1, 'closed', 0);
      }
      pause = this.#pauses.get(scope);
    }
    reportGrant(this.events, ctx, 'cooldown', 1, performance.now() - started);
    return this.#observe(next(ctx), scope, false);
  }

  /** Ask the store for the probe (once per pause at a time); a failing store lets this instance probe. */
  async #claim(scope: string, pause: Pause): Promise<boolean> {
    pause.claiming ??= this.options.store
      .claimProbe(this.options.key, scope, this.#instance, this.options.probeTimeoutMs)
      .catch(() => true);
    const claiming = pause.claiming;
    const won = await claiming;
    if (pause.claiming === claiming) pause.claiming = undefined;
    if (this.#pauses.get(scope) !== pause) return false; // ended meanwhile: go through the loop
    if (won && !pause.probing) {
      pause.probing = true;
      return true;
    }
    if (!won) pause.othersProbeUntil = performance.now() + this.options.probeTimeoutMs;
    return false;
  }

  /** Wait `ms`, or until the pause changes; false on abort or close. */
  #sleep(pause: Pause, ms: number, ctx: CallContext): Promise<boolean> {
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        forget?.();
        pause.waiters.delete(wake);
        resolve(ok);
      };
      const wake = () => done(!this.#closed);
      const timer = setTimeout(wake, Math.max(1, ms));
      pause.waiters.add(wake);
      const forget = ctx.signal ? onAbort(ctx.signal, () => done(false)) : undefined;
    });
  }

  /** Start (or lengthen) a pause; `mine`: this instance read it, so the fleet is told. */
  #pause(scope: string, asked: number, source: CooldownSource, mine: boolean): void {
    const ms = Math.min(asked, this.options.maxMs);
    const now = performance.now();
    const until = now + ms;
    const pause = this.#pauses.get(scope);
    if (pause) {
      if (pause.until >= until - (mine ? 0 : ECHO_MS)) return;
      pause.until = until;
      pause.source = source;
      pause.probing = false;
      pause.othersProbeUntil = 0;
      this.#wakeAt(pause, until);
    } else {
      this.#evictIfFull();
      const fresh: Pause = {
        until,
        source,
        startedAt: now,
        timer: undefined,
        probing: false,
        othersProbeUntil: 0,
        claiming: undefined,
        waiters: new Set(),
      };
      this.#pauses.set(scope, fresh);
      this.#wakeAt(fresh, until);
    }
    this.#report(scope, 'started', source, ms);
    if (mine) {
      this.options.store.pause(this.options.key, scope, ms, source).catch(() => {});
    }
  }

  /** End a pause; `mine`: this instance's probe was answered, so the fleet is told. */
  #resume(scope: string, mine: boolean): void {
    const pause = this.#pauses.get(scope);
    if (!pause) return;
    this.#pauses.delete(scope);
    if (pause.timer) clearTimeout(pause.timer);
    for (const wake of [...pause.waiters]) wake();
    this.#report(scope, 'ended', pause.source, performance.now() - pause.startedAt);
    if (mine) this.options.store.resume(this.options.key, scope).catch(() => {});
  }

  #notice(notice: CooldownNotice): void {
    if (this.#closed) return;
    if (notice.change === 'ended') this.#resume(notice.scope, false);
    else this.#pause(notice.scope, notice.remainingMs, 'fleet', false);
  }

  /** Wake the waiters of `pause` when it ends, so they claim the probe. */
  #wakeAt(pause: Pause, until: number): void {
    if (pause.timer) clearTimeout(pause.timer);
    pause.timer = setTimeout(
      () => {
        pause.timer = undefined;
        for (const wake of [...pause.waiters]) wake();
      },
      Math.max(1, until - performance.now()),
    );
    pause.timer.unref?.();
  }

  #evictIfFull(): void {
    if (this.#pauses.size < MAX_SCOPES) return;
    const now = performance.now();
    for (const [scope, pause] of this.#pauses) {
      if (pause.until <= now && pause.waiters.size === 0 && !pause.probing) {
        this.#pauses.delete(scope);
        return;
      }
    }
  }

  #report(
    scope: string,
    change: 'started' | 'ended',
    source: CooldownSource,
    durationMs: number,
  ): void {
    if (!this.events.cooldown.hasListeners) return;
    this.events.cooldown.emit({ client: this.client, scope, change, source, durationMs });
  }

  async dispose(): Promise<void> {
    this.#closed = true;
    this.#unwatch();
    for (const pause of this.#pauses.values()) {
      if (pause.timer) clearTimeout(pause.timer);
      for (const wake of [...pause.waiters]) wake();
    }
    await this.options.store.detach();
  }
}
