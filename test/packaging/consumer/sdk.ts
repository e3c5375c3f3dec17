// `steadfast` alone (with its peers): a client calls a loopback server and reads the answer.
import { createClient, isSteadfastError } from 'steadfast';
import { numberOption, optionsObject, parseOptions } from 'steadfast/options';
import { json, serve } from './loopback.js';

const api = await serve((req, res) => json(res, 200, { path: req.url }));
const client = createClient({ name: 'consumer', baseUrl: api.url, retry: { maxRetries: 1 } });
try {
  const body = await client.getJson<{ path: string }>('/hello');
  const response = await client.fetch('/fetched');
  const limits = optionsObject('Limits', 'A consumer-declared options object.', {
    limit: numberOption({ default: 1, min: 0, max: 10, doc: 'A limit.' }),
  });
  const { limit } = parseOptions(limits, { limit: 3 });
  console.log(
    JSON.stringify({
      path: body.path,
      status: response.status,
      text: await response.text(),
      limit,
      guard: isSteadfastError(new Error('plain')),
    }),
  );
} finally {
  await client.close();
  await api.close();
}
