import type { JitConfig } from '../config/schema.js';
import { API } from '../broker/api.js';
import { BROKER_PEER } from '../grant/broker-client.js';
import { providerFetch, transportError } from '../identity/http.js';
import { type CheckResult, fail, failFrom, ok } from './result.js';

/**
 * `broker`: the team broker answers its readiness endpoint over TLS with the configured CA (it
 * is up and reaches its state database). Nothing when the config has no broker.
 */
export async function checkBroker(config: JitConfig): Promise<CheckResult[]> {
  const broker = config.broker;
  if (!broker) return [];
  const url = new URL(API.ready, broker.url).toString();
  let response: Response;
  try {
    response = await providerFetch(broker.ca)(url, { method: 'GET', signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const transport = transportError(error, `GET ${url} failed`, broker.url, BROKER_PEER);
    return [
      failFrom('broker', transport ?? error, 'check broker.url in jit.yaml and that a broker is running'),
    ];
  }
  if (response.status === 200) return [ok('broker', `${broker.url} is ready`)];
  const body = (await response.json().catch(() => ({}))) as { error?: string };
  return [
    fail(
      'broker',
      `${broker.url} answered ${response.status}${body.error ? ` (${body.error})` : ''} at ${API.ready}`,
      'the broker is up but not ready: check its log (its state database may be unreachable)',
    ),
  ];
}
