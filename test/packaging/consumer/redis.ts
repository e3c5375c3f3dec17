// `@steadfast/redis`: two calls share one token through the Redis at REDIS_URL.
import { redisTokenStore } from '@steadfast/redis';
import { clientCredentials, createClient } from 'steadfast';
import { json, serve } from './loopback.js';

const redisUrl = process.env.REDIS_URL;
if (!redisUrl) throw new Error('REDIS_URL is not set');

let tokenRequests = 0;
const idp = await serve((_req, res) => {
  tokenRequests++;
  json(res, 200, { access_token: `token-${tokenRequests}`, token_type: 'Bearer', expires_in: 300 });
});
const seen: (string | undefined)[] = [];
const api = await serve((req, res) => {
  seen.push(req.headers.authorization);
  json(res, 200, { ok: true });
});
const client = createClient({
  name: 'consumer-redis',
  baseUrl: api.url,
  auth: clientCredentials({
    tokenUrl: `${idp.url}/token`,
    clientId: 'consumer',
    clientSecret: 'consumer-secret',
    store: redisTokenStore({ url: redisUrl, keyPrefix: 'consumer:' }),
  }),
});
try {
  const first = await client.fetch('/one');
  const second = await client.getJson<{ ok: boolean }>('/two');
  await first.text();
  console.log(
    JSON.stringify({ status: first.status, ok: second.ok, authorization: seen, tokenRequests }),
  );
} finally {
  await client.close();
  await api.close();
  await idp.close();
}
