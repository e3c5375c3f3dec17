import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type Bag,
  functionAt,
  objectAt,
  objectWithMethodsAt,
  onlyKeys,
  textAt,
} from '../config/rules.js';
import { InvalidConfigurationError } from '../errors.js';
import {
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  renderMetrics,
  TEXT_CONTENT_TYPE,
} from './metrics/exposition.js';
import { metricsRegistry } from './metrics/registry.js';
import { REGISTRY_METHODS, REGISTRY_RULE } from './options.js';
import type { MetricsRegistry } from './types.js';

/** Options of {@link metricsRouter}. */
export interface MetricsRouterOptions {
  /** The registry to serve. Default: {@link metricsRegistry} (the SDK's default). */
  readonly registry?: MetricsRegistry;
  /** Path of the metrics route: `/` and no query, fragment or space. Default `/metrics`. */
  readonly metricsPath?: string;
  /** Path of the health route, like `metricsPath` and not the same. Default `/healthz`. */
  readonly healthPath?: string;
  /**
   * Health check: resolve `false` (or throw) to answer 503. Default: always healthy
   * (the process is up and the event loop answers).
   */
  readonly health?: () => boolean | Promise<boolean>;
}

/** An Express-compatible request handler (`app.use(metricsRouter())`). */
export type MetricsRequestHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

/**
 * The `/metrics` and `/healthz` routes, as an Express 5 middleware (`app.use(...)`, also
 * under a mount path: `app.use('/ops', metricsRouter())`). It is a plain
 * `(req, res, next)` handler, so it also works with `node:http` directly and importing it
 * does not load Express.
 *
 * `/metrics` answers OpenMetrics 1.0 (with exemplars) when the `Accept` header asks for
 * it — Prometheus does by default — and the text format 0.0.4 otherwise. Other paths and
 * methods fall through to `next()` (or 404 without one).
 *
 * Options are validated when the router is made: an unknown key, a wrong type or a bad
 * path throws `InvalidConfigurationError` naming the field.
 *
 * @example
 * const app = express();
 * app.use(metricsRouter({ registry })); // GET /metrics, GET /healthz
 */
export function metricsRouter(options?: MetricsRouterOptions): MetricsRequestHandler {
  const { registry, metricsPath, healthPath, health } = resolveRouterOptions(options);

  return (req, res, next) => {
    const method = req.method ?? 'GET';
    const path = (req.url ?? '/').split('?', 1)[0];
    const fallThrough = () => {
      if (next) next();
      else {
        res.statusCode = 404;
        res.end();
      }
    };
    if ((method !== 'GET' && method !== 'HEAD') || (path !== metricsPath && path !== healthPath)) {
      fallThrough();
      return;
    }
    const head = method === 'HEAD';
    if (path === healthPath) {
      Promise.resolve()
        .then(() => (health ? health() : true))
        .then(
          (ok) =>
            reply(
              res,
              ok ? 200 : 503,
              'application/json',
              ok ? '{"status":"ok"}' : '{"status":"unhealthy"}',
              head,
            ),
          () => reply(res, 503, 'application/json', '{"status":"unhealthy"}', head),
        );
      return;
    }
    const accept = req.headers.accept;
    const format = negotiateFormat(Array.isArray(accept) ? accept.join(',') : accept);
    renderMetrics(registry, format).then(
      (body) =>
        reply(
          res,
          200,
          format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE,
          body,
          head,
        ),
      (error: unknown) => {
        if (next) next(error);
        else reply(res, 500, 'text/plain; charset=utf-8', 'metrics collection failed\n', head);
      },
    );
  };
}

function reply(
  res: ServerResponse,
  status: number,
  contentType: string,
  body: string,
  head: boolean,
): void {
  res.statusCode = status;
  res.setHeader('Content-Type', contentType);
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(head ? undefined : body);
}

const ROUTE_PATH = {
  pattern: /^\/[^?#\s]*$/,
  rule: 'a path starting with "/", without query, fragment or spaces',
  maxLength: 256,
  optional: true,
} as const;

function resolveRouterOptions(input: unknown) {
  const bag: Bag = input === undefined ? {} : objectAt(input, 'options');
  onlyKeys(bag, ['registry', 'metricsPath', 'healthPath', 'health'], '');
  const registry =
    objectWithMethodsAt<MetricsRegistry>(
      bag,
      'registry',
      'registry',
      REGISTRY_METHODS,
      REGISTRY_RULE,
    ) ?? metricsRegistry;
  const metricsPath = textAt(bag, 'metricsPath', 'metricsPath', ROUTE_PATH) ?? '/metrics';
  const healthPath = textAt(bag, 'healthPath', 'healthPath', ROUTE_PATH) ?? '/healthz';
  if (healthPath === metricsPath) {
    throw new InvalidConfigurationError('healthPath', 'must differ from metricsPath');
  }
  const health = functionAt<() => boolean | Promise<boolean>>(bag, 'health', 'health');
  return { registry, metricsPath, healthPath, health };
}
