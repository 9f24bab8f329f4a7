import { sign } from 'aws4';
import { GatewayError } from '../../runtime/relay/errors';
import type { ProviderTarget, UpstreamRequest } from '../types';

/** SigV4 signing name of Bedrock's runtime endpoints (bedrock-runtime.<region>.amazonaws.com). */
const SIGNING_SERVICE = 'bedrock';

export interface AwsSettings {
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const misconfigured = (missing: string) =>
  new GatewayError(500, `llm-proxy (provider bedrock) has no ${missing} configured`, 'gateway_misconfigured');

/**
 * Region and credentials of a Bedrock target: `options.bedrock`, else the plugin server's AWS_* environment.
 * Keys come from one place only: when either key is set in the options, both must be (a key id from the config
 * and a secret from the environment would be a confusing mix). Errors name the missing setting, never a value.
 */
export function awsSettings(target: ProviderTarget, env: NodeJS.ProcessEnv = process.env): AwsSettings {
  const options = target.options.bedrock;
  const region = options.region ?? env.AWS_REGION;
  if (!region) throw misconfigured('AWS region (options.bedrock.region or AWS_REGION)');
  const fromOptions = options.access_key_id !== undefined || options.secret_access_key !== undefined;
  const accessKeyId = fromOptions ? options.access_key_id : env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = fromOptions ? options.secret_access_key : env.AWS_SECRET_ACCESS_KEY;
  const where = (option: string, variable: string) => (fromOptions ? `options.bedrock.${option}` : `options.bedrock.${option} or ${variable}`);
  if (!accessKeyId) throw misconfigured(`AWS access key id (${where('access_key_id', 'AWS_ACCESS_KEY_ID')})`);
  if (!secretAccessKey) throw misconfigured(`AWS secret access key (${where('secret_access_key', 'AWS_SECRET_ACCESS_KEY')})`);
  const sessionToken = fromOptions ? options.session_token : (options.session_token ?? env.AWS_SESSION_TOKEN);
  return { region, accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

/** The target's endpoint: base_url (tests, VPC endpoints) or the regional default, with `{region}` filled in. */
function endpoint(target: ProviderTarget, aws: AwsSettings): string {
  return target.baseUrl.replace('{region}', aws.region).replace(/\/+$/, '');
}

/**
 * A JSON POST to Bedrock signed with SigV4 (aws4 signs synchronously, so the adapter's interface stays synchronous).
 * The path must already be URI-encoded (model ids contain `:`); SigV4 encodes it once more, as AWS expects.
 */
export function signedPost(target: ProviderTarget, path: string, body: string, accept: string): UpstreamRequest {
  const aws = awsSettings(target);
  const url = new URL(`${endpoint(target, aws)}${path}`);
  const headers: Record<string, string> = {
    host: url.host,
    'content-type': 'application/json',
    accept,
    'content-length': String(Buffer.byteLength(body)),
  };
  const signed = sign(
    { method: 'POST', host: url.host, path: `${url.pathname}${url.search}`, service: SIGNING_SERVICE, region: aws.region, headers, body },
    { accessKeyId: aws.accessKeyId, secretAccessKey: aws.secretAccessKey, sessionToken: aws.sessionToken },
  );
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) if (value !== undefined) out[name.toLowerCase()] = String(value);
  return { method: 'POST', url: url.toString(), headers: out, body };
}
