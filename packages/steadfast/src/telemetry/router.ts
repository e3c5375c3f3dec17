import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  functionOption,
  optionsObject,
  parseOptions,
  type TextSpec,
  textOption,
} from '../config/schema.js';
import {
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  renderMetrics,
  TEXT_CONTENT_TYPE,
} from './metrics/exposition.js';
import { metricsRegistry } from './metrics/registry.js';
import { registryOption } from './options.js';
import type { MetricsRouterOptions } from './router-options.js';

export type { MetricsRouterOptions } from './router-options.js';

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

const ROUTE_PATH: TextSpec = {
  doc: '',
  pattern: /^\/[^?#\s]*$/,
  rule: 'a path starting with "/", without query, fragment or spaces',
  maxLength: 256,
};

/** The options of {@link metricsRouter} (their interface is generated into router-options.ts). */
export const metricsRouterSchema = optionsObject(
  'MetricsRouterOptions',
  'Options of {@link metricsRouter}.',
  {
    registry: registryOption(
      'The registry to serve.',
      "{@link metricsRegistry} (the SDK's default)",
    ),
    metricsPath: textOption({
      ...ROUTE_PATH,
      default: '/metrics',
      doc: 'Path of the metrics route: `/` and no query, fragment or space.',
    }),
    healthPath: textOption({
      ...ROUTE_PATH,
      default: '/healthz',
      doc: 'Path of the health route, like `metricsPath` and not the same.',
    }),
    health: functionOption<() => boolean | Promise<boolean>>({
      type: '() => boolean | Promise<boolean>',
      doc: 'Health check: resolve `false` (or throw) to answer 503.',
      defaultText: 'always healthy (the process is up and the event loop answers)',
    }),
  },
  [
    (o) =>
      o.healthPath === o.metricsPath ? ['healthPath', 'must differ from metricsPath'] : undefined,
  ],
);

function resolveRouterOptions(input: unknown) {
  const options = parseOptions(metricsRouterSchema, input === undefined ? {} : input);
  return { ...options, registry: options.registry ?? metricsRegistry };
}
