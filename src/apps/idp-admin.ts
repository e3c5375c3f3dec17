import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, matchesSecret, sha256 } from './bearer-token.js';

/** The path prefix of the IdP's admin routes. */
export const IDP_ADMIN_PREFIX = '/admin';

/**
 * The IdP's admin routes, behind `Authorization: Bearer <admin token>` (compared in constant
 * time): `GET /admin/stats` answers the IdP's counters as JSON, so a process that did not
 * start the IdP (a test, an operator) can read how many tokens it issued. Returns a request
 * handler that answers and returns true for every `/admin` request, and returns false for
 * any other path (the caller passes those on to the authorization server).
 */
export function idpAdminHandler(
  adminToken: string,
  stats: () => unknown,
): (req: IncomingMessage, res: ServerResponse) => boolean {
  const adminTokenHash = sha256(adminToken);
  return (req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    if (path !== IDP_ADMIN_PREFIX && !path.startsWith(`${IDP_ADMIN_PREFIX}/`)) return false;
    // The body, if any, is never read: let the request end so the connection can be reused.
    req.resume();
    const token = bearerToken(req.headers.authorization);
    if (token === undefined || !matchesSecret(token, adminTokenHash)) {
      sendJson(
        res,
        401,
        { error: 'admin token required' },
        {
          'www-authenticate': 'Bearer realm="idp-admin"',
        },
      );
      return true;
    }
    if (path !== `${IDP_ADMIN_PREFIX}/stats`) {
      sendJson(res, 404, { error: 'not found' });
      return true;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, { error: 'method not allowed' }, { allow: 'GET, HEAD' });
      return true;
    }
    sendJson(res, 200, stats());
    return true;
  };
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
