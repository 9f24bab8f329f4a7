import { GatewayError } from '../../runtime/relay/errors';
import { openAiCompatible, type OpenAiWire } from '../openai';
import type { ProviderAdapter, ProviderTarget } from '../types';

/** The deployment a request goes to: the configured one, else the model name (Azure names deployments freely). */
function deploymentOf(target: ProviderTarget, body: Record<string, unknown> | undefined): string {
  const deployment = target.options.azure.deployment ?? target.model ?? (typeof body?.model === 'string' ? body.model : '');
  if (!deployment) throw new GatewayError(400, 'provider azure needs a deployment: set options.azure.deployment or send a model', 'missing_deployment');
  return deployment;
}

/** `{base_url}/deployments/{deployment}/{path}?api-version=…`, authenticated with the `api-key` header. */
const azureWire: OpenAiWire = {
  url(target, path, body) {
    const base = target.baseUrl.replace(/\/+$/, '');
    const version = encodeURIComponent(target.options.azure.api_version);
    return `${base}/deployments/${encodeURIComponent(deploymentOf(target, body))}${path}?api-version=${version}`;
  },
  headers(target) {
    const h: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
    if (target.apiKey) h['api-key'] = target.apiKey;
    return h;
  },
};

/** Azure's error code worth passing on as it is: a content-filter refusal is the client's to handle. */
function azureErrorCode(json: unknown): string | undefined {
  const code = (json as { error?: { code?: unknown } } | null)?.error?.code;
  return code === 'content_filter' ? code : undefined;
}

/**
 * Azure OpenAI: OpenAI's chat and embeddings API per deployment. Answers (incl. finish_reason `content_filter` and
 * the `content_filter_results` fields) pass through as OpenAI's; a 400 `content_filter` error keeps its code.
 */
export const azure: ProviderAdapter = {
  ...openAiCompatible('azure', undefined, true, azureWire),
  modelsRequest() {
    throw new GatewayError(404, 'provider azure: the model list is not served through this route (Azure lists deployments, not models)', 'unsupported_api');
  },
  errorCode: azureErrorCode,
};
