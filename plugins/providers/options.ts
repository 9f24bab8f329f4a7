import { z } from 'zod';

const secret = { kong: { referenceable: true, encrypted: true } };
const referenceable = { kong: { referenceable: true } };

/**
 * Settings only some providers need. Each provider reads its own record; the others ignore it. Kept in one schema
 * so that a target (llm-proxy's top level, or one entry of a routing target list) has the same shape everywhere.
 */
export const providerOptionsSchema = z.object({
  azure: z
    .object({
      deployment: z.string().min(1).optional().describe('Azure OpenAI deployment name. Unset: the model name is used as the deployment name.'),
      api_version: z.string().min(1).default('2024-10-21').describe('Azure OpenAI api-version query parameter.'),
    })
    .prefault({})
    .describe('Azure OpenAI: base_url is https://<resource>.openai.azure.com/openai; the key goes in auth.api_key (api-key header).'),
  bedrock: z
    .object({
      region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/).optional().describe('AWS region, e.g. us-east-1. Unset: AWS_REGION of the plugin-server process.'),
      access_key_id: z.string().min(1).optional().describe('AWS access key id. Unset: AWS_ACCESS_KEY_ID of the plugin-server process.').meta(secret),
      secret_access_key: z.string().min(1).optional().describe('AWS secret access key. Unset: AWS_SECRET_ACCESS_KEY of the plugin-server process.').meta(secret),
      session_token: z.string().min(1).optional().describe('AWS session token for temporary credentials. Unset: AWS_SESSION_TOKEN.').meta(secret),
    })
    .prefault({})
    .describe('AWS Bedrock (Converse API), signed with SigV4.'),
  vertex: z
    .object({
      project: z.string().min(1).optional().describe('Google Cloud project id (Vertex AI).').meta(referenceable),
      location: z.string().min(1).default('us-central1').describe('Vertex AI location, e.g. us-central1 or global.'),
    })
    .prefault({})
    .describe('Google Vertex AI: the OAuth access token goes in auth.api_key (Authorization: Bearer).'),
});

export type ProviderOptions = z.infer<typeof providerOptionsSchema>;
export const defaultProviderOptions = (): ProviderOptions => providerOptionsSchema.parse({});
