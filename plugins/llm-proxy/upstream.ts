import { pipeline } from 'node:stream';
import zlib from 'node:zlib';
import { Agent, errors as undiciErrors, request, type Dispatcher } from 'undici';
import { GatewayError } from '../runtime/relay/errors';
import type { ProviderAdapter, ProviderTarget, UpstreamRequest } from '../providers/types';

/** One keep-alive connection pool per connect timeout (in practice: one). */
const agents = new Map<number, Agent>();
function agentFor(connectMs: number): Agent {
  let agent = agents.get(connectMs);
  if (!agent) {
    agent = new Agent({ connect: { timeout: connectMs }, keepAliveTimeout: 30_000, connections: 256 });
    agents.set(connectMs, agent);
  }
  return agent;
}

export type UpstreamResponse = Dispatcher.ResponseData;

const DECODERS: Record<string, () => NodeJS.ReadWriteStream> = {
  gzip: () => zlib.createGunzip(),
  'x-gzip': () => zlib.createGunzip(),
  deflate: () => zlib.createInflate(),
  br: () => zlib.createBrotliDecompress(),
};

/**
 * Providers (or proxies in front of them) may compress answers even unasked: the body is decoded before anyone
 * parses it. (undici's own decompress interceptor is still experimental and warns on every process start.)
 */
function decoded(res: UpstreamResponse): UpstreamResponse {
  const encoding = String(res.headers['content-encoding'] ?? '').trim().toLowerCase();
  const decoder = DECODERS[encoding];
  if (!decoder) return res;
  const body = pipeline(res.body, decoder(), () => undefined) as unknown as NodeJS.ReadWriteStream & AsyncIterable<Buffer>;
  const bytes = async () => {
    const parts: Buffer[] = [];
    for await (const part of body) parts.push(part);
    return Buffer.concat(parts);
  };
  const text = async () => (await bytes()).toString('utf8');
  const headers = { ...res.headers };
  delete headers['content-encoding'];
  delete headers['content-length'];
  return Object.assign(Object.create(res) as UpstreamResponse, {
    headers,
    body: Object.assign(body, {
      text,
      json: async () => JSON.parse(await text()),
      arrayBuffer: async () => {
        const b = await bytes();
        return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength);
      },
    }),
  });
}

/** Sends a request to the provider with the target's timeouts; network failures become gateway errors. */
export async function callUpstream(req: UpstreamRequest, target: ProviderTarget, signal: AbortSignal): Promise<UpstreamResponse> {
  try {
    return decoded(await request(req.url, {
      method: req.method,
      headers: req.headers,
      body: req.body,
      signal,
      dispatcher: agentFor(target.timeouts.connectMs),
      headersTimeout: target.timeouts.firstByteMs,
      bodyTimeout: target.timeouts.idleMs,
    }));
  } catch (err) {
    throw upstreamFailure(err, target);
  }
}

/** Maps a failure while talking to the provider to what the client is told. */
export function upstreamFailure(err: unknown, target: ProviderTarget): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError) {
    return new GatewayError(504, `provider ${target.provider} did not answer in time`, 'upstream_timeout');
  }
  if (err instanceof undiciErrors.ConnectTimeoutError) {
    return new GatewayError(504, `provider ${target.provider} could not be reached in time`, 'upstream_timeout');
  }
  if ((err as { name?: string })?.name === 'AbortError' || (err as { code?: string })?.code === 'UND_ERR_ABORTED') {
    return new GatewayError(499, 'client closed the request', 'client_closed');
  }
  return new GatewayError(502, `provider ${target.provider} is unreachable`, 'upstream_unreachable');
}

const MAX_ERROR_BODY = 64 * 1024;

/**
 * An error answer from the provider, as the client should see it: the provider's message and status, except that
 * a provider refusing the gateway's own credentials is a gateway fault (502), not the client's.
 */
export async function upstreamErrorAnswer(res: UpstreamResponse, adapter: ProviderAdapter, target: ProviderTarget): Promise<GatewayError> {
  const status = res.statusCode;
  const text = (await res.body.text()).slice(0, MAX_ERROR_BODY);
  let message: string | undefined;
  let code: string | undefined;
  try {
    const json: unknown = JSON.parse(text);
    message = adapter.errorMessage(json);
    code = adapter.errorCode?.(json);
  } catch {
    message = undefined;
  }
  const headers: Record<string, string> = {};
  const retryAfter = res.headers['retry-after'];
  if (typeof retryAfter === 'string') headers['retry-after'] = retryAfter;
  if (status === 401 || status === 403) {
    return new GatewayError(502, `provider ${target.provider} refused the gateway's credentials (HTTP ${status}); check llm-proxy's auth settings`, 'upstream_auth_failed');
  }
  const clientStatus = status >= 400 && status < 600 ? status : 502;
  const detail = message ?? `provider ${target.provider} answered HTTP ${status} without an error message`;
  return new GatewayError(clientStatus, detail, code ?? (status >= 500 ? 'upstream_error' : 'upstream_rejected'), headers);
}
