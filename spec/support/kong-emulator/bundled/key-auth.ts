import { produceError } from '../exit';
import { isPlainObject, luaType } from '../lua';
import { clientPdk } from '../pdk/client';
import type { PdkContext } from '../pdk/context';
import { requestPdk } from '../pdk/request';
import { servicePdk } from '../pdk/service';
import type { BundledPlugin } from './types';

/** Kong 3.9's key-auth handler (kong/plugins/key-auth/handler.lua), PRIORITY 1250. */

const ERR_DUPLICATE_API_KEY = 'Duplicate API key found';
const ERR_NO_API_KEY = 'No API key found in request';
const ERR_INVALID_AUTH_CRED = 'Unauthorized';

interface KeyAuthConf {
  key_names: string[];
  hide_credentials: boolean;
  anonymous?: string | null;
  key_in_header: boolean;
  key_in_query: boolean;
  key_in_body: boolean;
  run_on_preflight: boolean;
  realm?: string | null;
}

type Failure = { status: number; message: string; headers?: Record<string, string> };

const call = (ctx: PdkContext, table: Record<string, (ctx: PdkContext, ...a: unknown[]) => unknown>, name: string, ...args: unknown[]) =>
  table[name](ctx, ...args);

function setConsumer(ctx: PdkContext, consumer: Record<string, unknown> | undefined, credential?: Record<string, unknown>): void {
  call(ctx, clientPdk, 'kong.client.authenticate', consumer, credential);
  const set = (n: string, v: unknown) => call(ctx, servicePdk, 'kong.service.request.set_header', n, v);
  const clear = (n: string) => call(ctx, servicePdk, 'kong.service.request.clear_header', n);
  if (consumer?.id) set('X-Consumer-ID', consumer.id);
  else clear('X-Consumer-ID');
  if (consumer?.custom_id) set('X-Consumer-Custom-ID', consumer.custom_id);
  else clear('X-Consumer-Custom-ID');
  if (consumer?.username) set('X-Consumer-Username', consumer.username);
  else clear('X-Consumer-Username');
  if (credential?.id) set('X-Credential-Identifier', credential.id);
  else clear('X-Credential-Identifier');
  if (credential) clear('X-Anonymous-Consumer');
  else set('X-Anonymous-Consumer', true);
}

function getBody(ctx: PdkContext): Record<string, unknown> {
  const body = call(ctx, requestPdk, 'kong.request.get_body');
  return isPlainObject(body) ? body : {};
}

function doAuthentication(ctx: PdkContext, conf: KeyAuthConf, findCredential: (key: string) => Record<string, unknown> | undefined): Failure | undefined {
  if (!Array.isArray(conf.key_names)) return { status: 500, message: 'Invalid plugin configuration' };
  const www = conf.realm ? `Key realm="${conf.realm}"` : 'Key';
  const headers = call(ctx, requestPdk, 'kong.request.get_headers') as Record<string, unknown>;
  const query = call(ctx, requestPdk, 'kong.request.get_query') as Record<string, unknown>;
  let key: string | undefined;
  let body: Record<string, unknown> | undefined;
  for (const name of conf.key_names) {
    let v: unknown;
    if (conf.key_in_header) v = headers[name.toLowerCase().replace(/_/g, '-')];
    if (v === undefined && conf.key_in_query) v = query[name];
    if (v === undefined && conf.key_in_body) v = (body ??= getBody(ctx))[name];
    if (typeof v === 'string') {
      key = v;
      if (conf.hide_credentials) {
        call(ctx, servicePdk, 'kong.service.request.clear_query_arg', name);
        call(ctx, servicePdk, 'kong.service.request.clear_header', name);
        if (conf.key_in_body) {
          body ??= getBody(ctx);
          if (Object.keys(body).length > 0) {
            delete body[name];
            call(ctx, servicePdk, 'kong.service.request.set_body', body);
          }
        }
      }
      break;
    }
    if (luaType(v) === 'table') return { status: 401, message: ERR_DUPLICATE_API_KEY, headers: { 'WWW-Authenticate': www } };
  }
  if (!key) return { status: 401, message: ERR_NO_API_KEY, headers: { 'WWW-Authenticate': www } };
  const credential = findCredential(key);
  if (!credential) return { status: 401, message: ERR_INVALID_AUTH_CRED, headers: { 'WWW-Authenticate': www } };
  const consumerId = (credential.consumer as { id: string }).id;
  const consumer = call(ctx, clientPdk, 'kong.client.load_consumer', consumerId) as Record<string, unknown> | undefined;
  setConsumer(ctx, consumer, credential);
  return undefined;
}

export function keyAuth(findCredential: (key: string) => Record<string, unknown> | undefined): BundledPlugin {
  return {
    name: 'key-auth',
    priority: 1250,
    phases: ['access'],
    schemaFields: [
      { key_names: { type: 'array', required: true, elements: { type: 'string' }, default: ['apikey'] } },
      { hide_credentials: { type: 'boolean', required: true, default: false } },
      { anonymous: { type: 'string' } },
      { key_in_header: { type: 'boolean', required: true, default: true } },
      { key_in_query: { type: 'boolean', required: true, default: true } },
      { key_in_body: { type: 'boolean', required: true, default: false } },
      { run_on_preflight: { type: 'boolean', required: true, default: true } },
      { realm: { type: 'string', required: false } },
    ],
    run(ctx, _phase, rawConf) {
      const conf = rawConf as unknown as KeyAuthConf;
      if (!conf.run_on_preflight && ctx.req.method === 'OPTIONS') return;
      if (conf.anonymous) {
        if (ctx.req.authenticatedCredential) return;
        if (doAuthentication(ctx, conf, findCredential)) {
          const anonymous = call(ctx, clientPdk, 'kong.client.load_consumer', conf.anonymous, true) as Record<string, unknown> | undefined;
          setConsumer(ctx, anonymous);
        }
        return;
      }
      const failure = doAuthentication(ctx, conf, findCredential);
      if (failure) produceError(ctx.req, failure.status, failure.message, failure.headers);
    },
  };
}
