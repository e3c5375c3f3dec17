import type { ResolvedEndpoint } from '../../config/hedging-schema.js';

/**
 * Where the attempts of a hedged call go: the endpoints of the group in `ordered` (failover)
 * or `weighted` order. A call tracks which endpoints it used and which refused it in two bit
 * sets (a group has at most 16 endpoints), so picking costs no allocation.
 *
 * - `ordered`: the first endpoint not used yet, in the group's order;
 * - `weighted`: an endpoint drawn by weight among those not used yet.
 *
 * When every endpoint was used, they are all candidates again (a call with more hedges than
 * endpoints goes round); an endpoint that refused an attempt of this call (breaker open,
 * connection refused, no permit) is never picked again for it.
 */
export class EndpointGroup {
  readonly origins: readonly string[];
  readonly #weights: readonly number[];
  readonly #index: ReadonlyMap<string, number>;
  readonly #all: number;

  constructor(
    endpoints: readonly ResolvedEndpoint[],
    private readonly weighted: boolean,
    private readonly random: () => number,
  ) {
    this.origins = endpoints.map((e) => e.origin);
    this.#weights = endpoints.map((e) => e.weight);
    this.#index = new Map(this.origins.map((origin, i) => [origin, i]));
    this.#all = (1 << endpoints.length) - 1;
  }

  /** True when calls to `origin` are routed by the group. */
  has(origin: string): boolean {
    return this.#index.has(origin);
  }

  /**
   * The index of the endpoint for a call's next attempt, given the endpoints it `used` and
   * those that `refused` it (bit sets); -1 when every endpoint refused.
   */
  pick(used: number, refused: number): number {
    let candidates = this.#all & ~used & ~refused;
    if (candidates === 0) candidates = this.#all & ~refused;
    if (candidates === 0) return -1;
    if (!this.weighted) return lowestBit(candidates);
    const weights = this.#weights;
    let total = 0;
    for (let i = 0; i < weights.length; i++) if (candidates & (1 << i)) total += weights[i]!;
    let draw = this.random() * total;
    let last = -1;
    for (let i = 0; i < weights.length; i++) {
      if (!(candidates & (1 << i))) continue;
      last = i;
      draw -= weights[i]!;
      if (draw < 0) return i;
    }
    return last; // rounding left a sliver of the draw: the last candidate
  }
}

/** Index of the lowest set bit of a non-zero bit set. */
function lowestBit(bits: number): number {
  return 31 - Math.clz32(bits & -bits);
}
