import type { CallContext } from '../../pipeline/types.js';
import { normalizeMethod, redactUrl, serverOf } from '../attributes.js';

/** The request attributes every span of a call shares, computed once per call. */
export interface RequestInfo {
  /** `http.request.method` (`_OTHER` for unknown methods). */
  readonly method: string;
  readonly address: string;
  readonly port: number;
  /** `url.full`, redacted. */
  readonly urlFull: string;
}

const REQUEST_INFO_SLOT = Symbol('steadfast.requestInfo');

export function requestInfoOf(ctx: CallContext): RequestInfo {
  let info = ctx.slots.get(REQUEST_INFO_SLOT) as RequestInfo | undefined;
  if (info === undefined) {
    const { address, port } = serverOf(ctx.url);
    info = { method: normalizeMethod(ctx.method), address, port, urlFull: redactUrl(ctx.url) };
    ctx.slots.set(REQUEST_INFO_SLOT, info);
  }
  return info;
}
