import { awsSettings, signedPost } from '../../../plugins/providers/bedrock/aws';
import { bedrockUsage, converseToCompletion, finishReasonOf } from '../../../plugins/providers/bedrock/converse-answer';
import { openAiRequestToConverse } from '../../../plugins/providers/bedrock/converse-request';
import { bedrock } from '../../../plugins/providers/bedrock';
import { statusOfException } from '../../../plugins/providers/bedrock/errors';
import { defaultProviderOptions } from '../../../plugins/providers/options';
import type { ProviderTarget } from '../../../plugins/providers/types';
import { gatewayErrorOf } from './gateway-error';

const PNG = 'iVBORw0KGgo=';
const MODEL_ID = 'anthropic.claude-3-5-haiku-20241022-v1:0';

function target(bedrockOptions: Record<string, string> = {}, baseUrl = bedrock.defaultBaseUrl!): ProviderTarget {
  const options = defaultProviderOptions();
  options.bedrock = { ...options.bedrock, ...bedrockOptions };
  return { provider: 'bedrock', baseUrl, apiKey: undefined, model: undefined, options, timeouts: { connectMs: 1, firstByteMs: 1, idleMs: 1 } };
}

describe('OpenAI chat request → Converse', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'system and developer → system blocks; consecutive user turns merged; inference settings',
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'user', content: 'one' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: [{ type: 'text', text: 'two' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] },
        ],
        max_completion_tokens: 50,
        max_tokens: 99,
        temperature: 0.2,
        top_p: 0.9,
        stop: 'END',
        seed: 7,
      },
      {
        system: [{ text: 'Be brief.' }, { text: 'Answer in French.' }],
        messages: [{ role: 'user', content: [{ text: 'one' }, { text: 'two' }, { image: { format: 'png', source: { bytes: PNG } } }] }],
        inferenceConfig: { maxTokens: 50, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
      },
    ],
    [
      'assistant tool calls → toolUse (empty arguments → {}), tool results → toolResult merged with the next user turn',
      {
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: 'Checking.',
            tool_calls: [
              { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call.2', type: 'function', function: { name: 'now', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
          { role: 'tool', tool_call_id: 'call.2', content: [{ type: 'text', text: 'noon' }] },
          { role: 'user', content: 'thanks' },
        ],
        tools: [
          { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
          { type: 'function', function: { name: 'now' } },
        ],
        tool_choice: 'required',
      },
      {
        messages: [
          { role: 'user', content: [{ text: 'weather?' }] },
          {
            role: 'assistant',
            content: [{ text: 'Checking.' }, { toolUse: { toolUseId: 'call_1', name: 'get_weather', input: { city: 'Paris' } } }, { toolUse: { toolUseId: 'call_2', name: 'now', input: {} } }],
          },
          {
            role: 'user',
            content: [{ toolResult: { toolUseId: 'call_1', content: [{ text: 'sunny' }] } }, { toolResult: { toolUseId: 'call_2', content: [{ text: 'noon' }] } }, { text: 'thanks' }],
          },
        ],
        toolConfig: {
          tools: [
            { toolSpec: { name: 'get_weather', description: 'Weather', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } },
            { toolSpec: { name: 'now', inputSchema: { json: { type: 'object', properties: {} } } } },
          ],
          toolChoice: { any: {} },
        },
      },
    ],
    [
      'named tool_choice → tool; json_schema → outputConfig.textFormat with the schema as a string',
      {
        messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
        tool_choice: { type: 'function', function: { name: 'f' } },
        response_format: { type: 'json_schema', json_schema: { name: 'person', schema: { type: 'object', properties: { name: { type: 'string' } } } } },
      },
      {
        messages: [{ role: 'user', content: [{ text: 'x' }] }],
        toolConfig: { tools: [{ toolSpec: { name: 'f', inputSchema: { json: { type: 'object' } } } }], toolChoice: { tool: { name: 'f' } } },
        outputConfig: { textFormat: { type: 'json_schema', structure: { jsonSchema: { name: 'person', schema: '{"type":"object","properties":{"name":{"type":"string"}}}' } } } },
      },
    ],
    [
      'tool_choice none → no toolConfig; auto → auto; PDF files → document blocks',
      {
        messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'q3 report.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] }],
        tools: [{ type: 'function', function: { name: 'f' } }],
        tool_choice: 'none',
      },
      { messages: [{ role: 'user', content: [{ document: { format: 'pdf', name: 'q3 report', source: { bytes: 'JVBERi0=' } } }] }] },
    ],
  ])('%s', (_name, request, expected) => {
    expect(openAiRequestToConverse(request)).toEqual(expected);
  });

  it('auto tool_choice is auto', () => {
    const out = openAiRequestToConverse({ messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'function', function: { name: 'f' } }], tool_choice: 'auto' });
    expect((out.toolConfig as { toolChoice: unknown }).toolChoice).toEqual({ auto: {} });
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['https image URLs (Bedrock takes bytes)', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] }, /messages\.0\.content\.0: .*bytes only.*base64 data URL/],
    ['images of another type', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: `data:image/tiff;base64,${PNG}` } }] }] }, /png, jpeg, gif or webp/],
    ['audio parts', { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'x', format: 'wav' } }] }] }, /"input_audio" is not supported/],
    ['json_object', { messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_object' } }, /response_format json_object/],
    ['n > 1', { messages: [{ role: 'user', content: 'x' }], n: 2 }, /n > 1/],
    ['tool arguments that are not JSON', { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '{oops' } }] }] }, /tool_calls\.0\.function\.arguments/],
  ])('answers 400 for %s', (_name, request, message) => {
    const err = gatewayErrorOf(() => openAiRequestToConverse(request));
    expect(err.status).toBe(400);
    expect(err.message).toMatch(message);
  });
});

describe('Converse answer → OpenAI', () => {
  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['tool_use', 'tool_calls'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
  ])('stopReason %s → finish_reason %s', (stop, finish) => expect(finishReasonOf(stop)).toBe(finish));

  it('maps text, tool uses and cache-aware usage', () => {
    const completion = converseToCompletion(
      {
        output: { message: { role: 'assistant', content: [{ text: 'Let me ' }, { reasoningContent: { reasoningText: { text: 'hidden' } } }, { text: 'check.' }, { toolUse: { toolUseId: 'tooluse_1', name: 'f', input: {} } }] } },
        stopReason: 'tool_use',
        usage: { inputTokens: 10, outputTokens: 5, totalTokens: 20, cacheReadInputTokens: 3, cacheWriteInputTokens: 2 },
      },
      MODEL_ID,
    );
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: MODEL_ID,
      choices: [{ index: 0, finish_reason: 'tool_calls', message: { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'tooluse_1', type: 'function', function: { name: 'f', arguments: '{}' } }] } }],
      usage: { prompt_tokens: 15, completion_tokens: 5, total_tokens: 20, prompt_tokens_details: { cached_tokens: 3 } },
    });
    expect(completion.id).toMatch(/^chatcmpl-/);
    expect(bedrockUsage({ inputTokens: 10, outputTokens: 5 })).toEqual({ promptTokens: 10, completionTokens: 5, totalTokens: 15, cachedTokens: 0, cacheWriteTokens: 0, estimated: false });
    expect(bedrockUsage({})).toBeUndefined();
  });

  it('reads error messages and stream exception statuses', () => {
    expect(bedrock.errorMessage({ message: 'Too many requests' })).toBe('Too many requests');
    expect(bedrock.errorMessage({ Message: 'Denied' })).toBe('Denied');
    expect(bedrock.errorMessage({ other: 1 })).toBeUndefined();
    expect([
      'throttlingException',
      'validationException',
      'serviceUnavailableException',
      'modelStreamErrorException',
      'modelTimeoutException',
      'internalServerException',
    ].map(statusOfException)).toEqual([429, 400, 503, 502, 504, 500]);
  });

  it('answers 404 for the model list and 400 for several embedding inputs', () => {
    expect(gatewayErrorOf(() => bedrock.modelsRequest(target({ region: 'us-east-1' }))).status).toBe(404);
    // the input is checked before anything is signed: no credentials are needed to get the 400
    const err = gatewayErrorOf(() => bedrock.embeddingsRequest({ model: 'amazon.titan-embed-text-v2:0', input: ['a', 'b'] }, target()));
    expect(err).toMatchObject({ status: 400, code: 'unsupported_parameter' });
    expect(err.message).toMatch(/one non-empty text per request/);
  });
});

describe('AWS settings and signing', () => {
  it('takes region and keys from options, else from the environment, and names what is missing (never a value)', () => {
    const env = { AWS_REGION: 'us-west-2', AWS_ACCESS_KEY_ID: 'AKIAENV', AWS_SECRET_ACCESS_KEY: 'env-secret', AWS_SESSION_TOKEN: 'env-token' };
    expect(awsSettings(target(), env)).toEqual({ region: 'us-west-2', accessKeyId: 'AKIAENV', secretAccessKey: 'env-secret', sessionToken: 'env-token' });
    expect(awsSettings(target({ region: 'eu-west-1', access_key_id: 'AKIAOPT', secret_access_key: 'opt-secret' }), env)).toEqual({ region: 'eu-west-1', accessKeyId: 'AKIAOPT', secretAccessKey: 'opt-secret' });

    const noRegion = gatewayErrorOf(() => awsSettings(target(), {}));
    expect(noRegion).toMatchObject({ status: 500, code: 'gateway_misconfigured' });
    expect(noRegion.message).toMatch(/AWS region \(options\.bedrock\.region or AWS_REGION\)/);
    expect(gatewayErrorOf(() => awsSettings(target({ region: 'eu-west-1' }), {})).message).toMatch(/AWS access key id \(options\.bedrock\.access_key_id or AWS_ACCESS_KEY_ID\)/);
    const half = gatewayErrorOf(() => awsSettings(target({ region: 'eu-west-1', access_key_id: 'AKIAOPT' }), env));
    expect(half.message).toMatch(/AWS secret access key \(options\.bedrock\.secret_access_key\)/);
    expect(half.message).not.toContain('AKIAOPT');
    expect(half.message).not.toContain('env-secret');
  });

  it('signs for the regional endpoint with the model id encoded in the path', () => {
    const request = signedPost(target({ region: 'us-east-1', access_key_id: 'AKIAOPT', secret_access_key: 's', session_token: 'tok' }), `/model/${encodeURIComponent(MODEL_ID)}/converse`, '{}', 'application/json');
    expect(request.url).toBe('https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse');
    expect(request.headers).toMatchObject({ host: 'bedrock-runtime.us-east-1.amazonaws.com', 'x-amz-security-token': 'tok', 'content-type': 'application/json' });
    expect(request.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIAOPT\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=accept;content-length;content-type;host;x-amz-date;x-amz-security-token, Signature=[0-9a-f]{64}$/);
  });
});
