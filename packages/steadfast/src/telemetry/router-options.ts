// Generated from the options schemas by scripts/generate-options.ts: do not edit.
// Change an option (its type, default, range or prose) in its schema, then run
// `npm run generate:options`. (router-options.ts)

import type { MetricsRegistry } from './types.js';

/** Options of {@link metricsRouter}. */
export interface MetricsRouterOptions {
  /**
   * The registry to serve.
   *
   * @defaultValue {@link metricsRegistry} (the SDK's default)
   */
  readonly registry?: MetricsRegistry;
  /**
   * Path of the metrics route: `/` and no query, fragment or space.
   *
   * @defaultValue `'/metrics'`
   */
  readonly metricsPath?: string;
  /**
   * Path of the health route, like `metricsPath` and not the same.
   *
   * @defaultValue `'/healthz'`
   */
  readonly healthPath?: string;
  /**
   * Health check: resolve `false` (or throw) to answer 503.
   *
   * @defaultValue always healthy (the process is up and the event loop answers)
   */
  readonly health?: () => boolean | Promise<boolean>;
}
