import type { Identity } from '../runtime/context';
import { joinRequestContext } from '../runtime/kong-glue';
import type { KongEntity, Pdk } from '../runtime/pdk';
import type { IdentityNeed, InstanceInfo, PluginDefinition } from '../runtime/plugin-definition';
import { misconfiguredBody } from '../runtime/protocol/plugin-server';
import { detectApi, errorFormatFor } from '../runtime/relay/api';
import { errorBody } from '../runtime/relay/errors';
import { TICKET_HEADER } from '../runtime/relay/relay-server';
import { suiteRuntime } from '../runtime/suite-runtime';
import { RouteCache } from './route-cache';
import type { LlmProxyConfig } from './schema';

/**
 * llm-proxy's access phase (it runs last of ours: lowest priority). Reads who is calling, hands the request
 * context to the relay under a single-use ticket, and points Kong's upstream at the relay.
 *
 * PDK calls (with HandleEvent, 4 for llm-proxy alone on a route): ctx.shared.get, get_consumer, get_route,
 * set_target, set_header; plus get_credential / get_consumer_groups only when a plugin on the request needs them.
 * ctx.shared.get is skipped when no instance of our other plugins can apply to the route (none has been started
 * for it), and get_route when the instance is scoped to a route whose details were read in the last minute.
 * Not called: kong.log.serialize (log phase only), get_service (the route names its service's id; the service must
 * be plain http, which `kong-llm validate` checks), and the path, query and client address, which Kong forwards
 * to the relay itself (upstream path, X-Real-IP).
 */
const routes = new RouteCache();

export async function llmProxyAccess(
  kong: Pdk,
  plugin: { name: 'llm-proxy'; priority: number },
  config: LlmProxyConfig,
  instance: InstanceInfo,
  definitions: () => PluginDefinition[],
): Promise<void> {
  const runtime = suiteRuntime();
  if (!runtime.relay) {
    await kong.response.exit(503, misconfiguredBody('llm-proxy', 'the relay is not listening yet'), { 'Content-Type': 'application/json' });
    return;
  }
  const { routeId } = instance.scope;
  const ctx = await joinRequestContext(kong, plugin, config, { last: true, alone: !instance.othersMayRunOn(routeId) });
  const needs = new Set<IdentityNeed>(config.consumer_groups ? ['consumer_groups'] : []);
  for (const registered of ctx.plugins) {
    const def = definitions().find((d) => d.name === registered.name);
    for (const need of def?.identityNeeds?.(registered.config) ?? []) needs.add(need);
  }
  const consumer = await kong.client.getConsumer();
  if (config.anonymous_consumer && consumer && (consumer.username === config.anonymous_consumer || consumer.id === config.anonymous_consumer)) {
    await rejectUnauthenticated(kong);
    return;
  }
  const credential = consumer && needs.has('credential') ? await kong.client.getCredential() : null;
  const groups = consumer && needs.has('consumer_groups') ? await kong.client.getConsumerGroups() : null;
  let route: KongEntity | null | undefined = routes.get(instance.id, routeId);
  if (!route) {
    route = await kong.router.getRoute();
    routes.remember(instance.id, routeId, route);
  }
  const serviceId = (route?.service as { id?: unknown } | undefined)?.id;
  const identity: Identity = {
    consumer: consumer?.id
      ? { id: consumer.id, username: consumer.username, custom_id: consumer.custom_id, tags: Array.isArray(consumer.tags) ? consumer.tags : undefined }
      : undefined,
    credentialId: credential?.id,
    consumerGroups: Array.isArray(groups) ? groups.map((g) => g.name ?? g.id).filter((n): n is string => typeof n === 'string') : [],
    route: route?.id ? { id: route.id, name: route.name } : undefined,
    service: typeof serviceId === 'string' ? { id: serviceId } : undefined,
  };
  ctx.identity = identity;
  runtime.contexts.take(ctx.id);
  const ticket = runtime.tickets.issue(ctx);
  await kong.service.setTarget(runtime.relay.host, runtime.relay.port);
  await kong.service.request.setHeader(TICKET_HEADER, ticket);
}

/**
 * Kong's key-auth answers a missing or wrong key with `{"message": ...}`, which the SDKs cannot parse. With key-auth's
 * `anonymous` fallback the request reaches us instead, and the client gets a 401 in its own API's error format.
 */
async function rejectUnauthenticated(kong: Pdk): Promise<void> {
  const format = errorFormatFor(detectApi((await kong.request.getPath()) ?? '/'));
  const message = 'Invalid or missing API key: send your gateway key as Authorization: Bearer <key>, x-api-key or apikey';
  await kong.response.exit(401, errorBody(format, 401, message, 'invalid_api_key'), {
    'Content-Type': 'application/json',
    'WWW-Authenticate': 'Bearer',
  });
}
