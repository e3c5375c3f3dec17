import type { CallContext } from '../../pipeline/types.js';
import { normalizeMethod, redactOriginAndPath, redactUrl, serverOf } from '../attributes.js';

/** The request attributes every span of a call shares, computed once per call. */
export interface RequestInfo {
  /** The origin it was computed for (a hedged attempt may go to another endpoint). */
  readonly origin: string;
  /** `http.request.method` (`_OTHER` for unknown methods). */
  readonly method: string;
  readonly address: string;
  readonly port: number;
  /** `url.full`, redacted. */
  readonly urlFull: string;
}

const REQUEST_INFO_SLOT = Symbol('steadfast.requestInfo');

/** Most origins whose `server.address`/`server.port` one process remembers (a call to another is parsed). */
const MAX_ORIGINS = 256;
const servers = new Map<string, { readonly address: string; readonly port: number }>();

/** `server.address` and `server.port` of an origin, parsed once per origin. */
function serverOfOrigin(origin: string): { readonly address: string; readonly port: number } {
  let server = servers.get(origin);
  if (server === undefined) {
    server = serverOf(new URL(origin));
    if (servers.size < MAX_ORIGINS) servers.set(origin, server);
  }
  return server;
}

/**
 * The call's span attributes, from `ctx.origin` and `ctx.path` (the URL as sent), so no
 * `URL` is built for them — unless the URL carries userinfo, which `url.full` shows as
 * `REDACTED:REDACTED@`.
 */
export function requestInfoOf(ctx: CallContext): RequestInfo {
  let info = ctx.slots.get(REQUEST_INFO_SLOT) as RequestInfo | undefined;
  if (info === undefined || info.origin !== ctx.origin) {
    const { address, port } = serverOfOrigin(ctx.origin);
    info = {
      origin: ctx.origin,
      method: normalizeMethod(ctx.method),
      address,
      port,
      urlFull:
        ctx.urlHasUserinfo === false
          ? redactOriginAndPath(ctx.origin, ctx.path)
          : redactUrl(ctx.url),
    };
    ctx.slots.set(REQUEST_INFO_SLOT, info);
  }
  return info;
}
