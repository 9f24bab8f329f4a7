import type { EntityStore } from '../entities';
import { keyAuth } from './key-auth';
import { preFunction } from './pre-function';
import type { BundledPlugin } from './types';

/** Kong 3.9's bundled plugin names (kong/constants.lua): such a name never reaches a plugin server. */
export const KONG_BUNDLED_PLUGINS = [
  'jwt', 'acl', 'correlation-id', 'cors', 'oauth2', 'tcp-log', 'udp-log', 'file-log', 'http-log', 'key-auth',
  'hmac-auth', 'basic-auth', 'ip-restriction', 'request-transformer', 'response-transformer',
  'request-size-limiting', 'rate-limiting', 'response-ratelimiting', 'syslog', 'loggly', 'datadog', 'ldap-auth',
  'statsd', 'bot-detection', 'aws-lambda', 'request-termination', 'prometheus', 'proxy-cache', 'session', 'acme',
  'grpc-gateway', 'grpc-web', 'pre-function', 'post-function', 'azure-functions', 'zipkin', 'opentelemetry',
  'ai-proxy', 'ai-prompt-decorator', 'ai-prompt-template', 'ai-prompt-guard', 'ai-request-transformer',
  'ai-response-transformer', 'standard-webhooks', 'redirect',
];

/** The bundled plugins the emulator implements. */
export function emulatedBundledPlugins(entities: EntityStore): Map<string, BundledPlugin> {
  const list = [keyAuth((key) => entities.keyauthByKey.get(key)), preFunction];
  return new Map(list.map((p) => [p.name, p]));
}

export type { BundledPlugin };
