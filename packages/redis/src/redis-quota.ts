import type { Cluster, Redis } from 'ioredis';
import { FLEET_MEMBER_TTL_MS, type QuotaLease, type QuotaLeaseRequest } from 'steadfast';
import { QUOTA_LEASE_SCRIPT } from './quota-scripts.js';

interface QuotaCommands {
  steadfastQuotaLease(
    tat: string,
    members: string,
    emissionMs: number,
    burst: number,
    horizonMs: number,
    want: number,
    min: number,
    instance: string,
    memberTtlMs: number,
    nowMs: number | '',
  ): Promise<[number, string, string, number]>;
}

/** A connection that can run the lease script. */
export type QuotaClient = (Redis | Cluster) & QuotaCommands;

/** Defines the lease script on `client` (once, however many stores share the client). */
export function defineQuotaScript(client: Redis | Cluster): QuotaClient {
  const scripted = client as QuotaClient;
  if (typeof scripted.steadfastQuotaLease !== 'function') {
    client.defineCommand('steadfastQuotaLease', { numberOfKeys: 2, lua: QUOTA_LEASE_SCRIPT });
  }
  return scripted;
}

/**
 * Lease permits of quota `key` in one atomic step (quota-scripts.ts). `nowMs` replaces the
 * Redis clock: tests use it to run the script's arithmetic at chosen times.
 */
export async function leaseQuota(
  client: QuotaClient,
  prefix: string,
  key: string,
  request: QuotaLeaseRequest,
  nowMs: number | '' = '',
): Promise<QuotaLease> {
  const tag = `{${key}}`;
  const [granted, firstInMs, retryInMs, fleetSize] = await client.steadfastQuotaLease(
    `${prefix}quota:${tag}`,
    `${prefix}quota-members:${tag}`,
    request.emissionMs,
    request.burst,
    request.horizonMs,
    request.want,
    request.min,
    request.instance,
    FLEET_MEMBER_TTL_MS,
    nowMs,
  );
  return {
    granted: Number(granted),
    firstInMs: Number(firstInMs),
    retryInMs: Number(retryInMs),
    fleetSize: Number(fleetSize),
  };
}
