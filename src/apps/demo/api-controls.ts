import type { FaultProfile } from '../fault-profile.js';
import type { PhaseControls } from './phases.js';

/** The phases' controls, through the flaky API's admin routes (the same a user would call). */
export function apiControls(apiUrl: string, adminToken: string): PhaseControls {
  return {
    async setProfile(profile: Partial<FaultProfile>) {
      const res = await fetch(`${apiUrl}/admin/profile`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify(profile),
      });
      if (!res.ok) {
        throw new Error(`PUT /admin/profile answered ${res.status}: ${await res.text()}`);
      }
      await res.body?.cancel();
    },
    async revokeCurrentToken() {
      const res = await fetch(`${apiUrl}/admin/revoke-current-token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}` },
      });
      const body = (await res.json()) as {
        revoked: boolean;
        fingerprint?: string;
        reason?: string;
      };
      return body.revoked
        ? `revoked token ${body.fingerprint} at the IdP`
        : `could not revoke the current token: ${body.reason}`;
    },
  };
}
