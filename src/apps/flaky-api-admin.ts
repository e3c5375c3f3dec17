import express, { type Router } from 'express';
import { bearerToken, matchesSecret, sha256 } from './bearer-token.js';
import { type FaultProfile, InvalidFaultProfileError } from './fault-profile.js';

/** What the admin routes act on. */
export interface AdminTarget {
  readonly adminToken: string;
  profile(): FaultProfile;
  /** Throws {@link InvalidFaultProfileError} on an invalid profile. */
  setProfile(profile: Partial<FaultProfile>): FaultProfile;
  revokeCurrentToken(): Promise<{
    readonly revoked: boolean;
    readonly fingerprint?: string;
    readonly reason?: string;
  }>;
  readonly canRevoke: boolean;
  stats(): unknown;
}

/**
 * The flaky API's admin routes, behind `Authorization: Bearer <admin token>` (compared in
 * constant time): `GET|PUT /profile`, `POST /revoke-current-token`, `GET /stats`.
 */
export function adminRouter(target: AdminTarget): Router {
  const adminTokenHash = sha256(target.adminToken);
  const router = express.Router();
  router.use((req, res, next) => {
    const token = bearerToken(req.get('authorization'));
    if (token === undefined || !matchesSecret(token, adminTokenHash)) {
      res.set('www-authenticate', 'Bearer realm="flaky-api-admin"');
      res.status(401).json({ error: 'admin token required' });
      return;
    }
    next();
  });
  router.use(express.json({ limit: '16kb' }));
  router.get('/profile', (_req, res) => {
    res.json(target.profile());
  });
  router.put('/profile', (req, res) => {
    try {
      res.json(target.setProfile(req.body as Partial<FaultProfile>));
    } catch (error) {
      if (!(error instanceof InvalidFaultProfileError)) throw error;
      res.status(400).json({ error: error.message });
    }
  });
  router.post('/revoke-current-token', async (_req, res) => {
    const result = await target.revokeCurrentToken();
    // 409: nothing to revoke yet; 501: no revocation endpoint; 502: the IdP failed us.
    const status = result.revoked
      ? 200
      : !target.canRevoke
        ? 501
        : result.fingerprint === undefined
          ? 409
          : 502;
    res.status(status).json(result);
  });
  router.get('/stats', (_req, res) => {
    res.json(target.stats());
  });
  return router;
}
