import type { Next, Strategy } from './types.js';

/**
 * Chain strategies, outermost first, around a terminal `next` (the transport).
 * Closures are built once per client, not per call.
 */
export function compose(strategies: readonly Strategy[], terminal: Next): Next {
  let next = terminal;
  for (let i = strategies.length - 1; i >= 0; i--) {
    const strategy = strategies[i]!;
    const inner = next;
    next = (ctx) => strategy.execute(ctx, inner);
  }
  return next;
}
