import type { TokenEvents } from './events.js';

/** Loop-breaker settings (see `ClientCredentialsOptions`). */
export interface AuthCircuitOptions {
  /** Fresh-token rejections within `windowMs` that open the circuit. Default: 3. */
  readonly threshold: number;
  /** Default: 60 000 (60 s). */
  readonly windowMs: number;
  /** First cool-down (ms); doubles on each re-open up to `maxCooldownMs`. Default: 30 000 (30 s). */
  readonly cooldownMs: number;
  /** Default: 600 000 (10 min). */
  readonly maxCooldownMs: number;
}

/**
 * The per-credential auth circuit: when freshly minted tokens keep getting 401 (wrong
 * audience, revoked client, clock skew at the API), refreshing cannot help. After
 * `threshold` such rejections within `windowMs` it opens for a cool-down; while open, 401s
 * go back to the caller without refreshing, and one error line is logged per opening.
 */
export class AuthCircuit {
  readonly #options: AuthCircuitOptions;
  readonly #events: TokenEvents;
  readonly #credential: string;
  readonly #log: (message: string) => void;
  #rejections: number[] = [];
  #openUntil = 0;
  #opened = 0;
  #open = false;

  constructor(
    options: AuthCircuitOptions,
    events: TokenEvents,
    credential: string,
    log: (message: string) => void,
  ) {
    this.#options = options;
    this.#events = events;
    this.#credential = credential;
    this.#log = log;
  }

  /** True while the circuit is open. Closes (and says so) once the cool-down is over. */
  isOpen(): boolean {
    if (!this.#open) return false;
    if (performance.now() < this.#openUntil) return true;
    this.#open = false;
    this.#rejections = [];
    this.#events.authCircuit.emit({
      credential: this.#credential,
      open: false,
      reason: 'cooldown_elapsed',
    });
    return false;
  }

  /** A re-sent request got a 401 with a token minted moments ago. */
  recordFreshTokenRejected(): void {
    const now = performance.now();
    this.#rejections = this.#rejections.filter((at) => now - at < this.#options.windowMs);
    this.#rejections.push(now);
    if (this.#open || this.#rejections.length < this.#options.threshold) return;
    const cooldownMs = Math.min(
      this.#options.maxCooldownMs,
      this.#options.cooldownMs * 2 ** this.#opened,
    );
    this.#opened += 1;
    this.#open = true;
    this.#openUntil = now + cooldownMs;
    const reason = 'fresh_tokens_rejected';
    this.#events.authCircuit.emit({ credential: this.#credential, open: true, reason });
    this.#log(
      `steadfast: auth circuit for credential ${this.#credential} is open for ${Math.round(cooldownMs / 1000)} s: ` +
        `${this.#rejections.length} freshly minted tokens were rejected with 401 within ${Math.round(this.#options.windowMs / 1000)} s ` +
        '(wrong audience or scope, revoked client, or clock skew at the API); 401s are returned without refreshing meanwhile',
    );
  }
}
