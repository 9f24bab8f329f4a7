import { gemini, vertex } from '../../../plugins/providers/gemini';
import { openAiRequestToGemini } from '../../../plugins/providers/gemini/request';
import { toGeminiSchema } from '../../../plugins/providers/gemini/schema';
import { thoughtSignatureOf, toolCallId } from '../../../plugins/providers/gemini/tool-call-id';
import { defaultProviderOptions } from '../../../plugins/providers/options';
import type { ProviderTarget } from '../../../plugins/providers/types';
import { GatewayError } from '../../../plugins/runtime/relay/errors';

const target = (provider: 'gemini' | 'vertex', over: Partial<ProviderTarget> = {}): ProviderTarget => ({
  provider,
  baseUrl: provider === 'gemini' ? gemini.defaultBaseUrl! : vertex.defaultBaseUrl!,
  apiKey: 'k-1',
  model: undefined,
  timeouts: { connectMs: 1000, firstByteMs: 1000, idleMs: 1000 },
  options: defaultProviderOptions(),
  ...over,
});

const withVertex = (project: string | undefined, location: string) => ({ ...defaultProviderOptions(), vertex: { project, location } });

function rejects(body: Record<string, unknown>, message: RegExp): void {
  let error: unknown;
  try {
    openAiRequestToGemini(body);
  } catch (err) {
    error = err;
  }
  expect(error).toBeInstanceOf(GatewayError);
  expect((error as GatewayError).status).toBe(400);
  expect((error as GatewayError).message).toMatch(message);
}

describe('OpenAI chat request → Gemini generateContent', () => {
  it.each<[string, Record<string, unknown>, Record<string, unknown>]>([
    [
      'system and developer messages (strings and text parts) → systemInstruction; roles user/model',
      {
        messages: [
          { role: 'system', content: 'Be brief.' },
          { role: 'developer', content: [{ type: 'text', text: 'Answer in French.' }] },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'salut' },
          { role: 'user', content: 'again' },
        ],
      },
      {
        systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in French.' }] },
        contents: [
          { role: 'user', parts: [{ text: 'hi' }] },
          { role: 'model', parts: [{ text: 'salut' }] },
          { role: 'user', parts: [{ text: 'again' }] },
        ],
      },
    ],
    [
      'consecutive same-role turns merged; empty texts dropped',
      { messages: [{ role: 'user', content: 'a' }, { role: 'user', content: '' }, { role: 'user', content: [{ type: 'text', text: 'b' }] }] },
      { contents: [{ role: 'user', parts: [{ text: 'a' }, { text: 'b' }] }] },
    ],
    [
      'images: data URL → inlineData, https URL → fileData with the MIME type of its extension',
      {
        messages: [
          {
            role: 'user',
            content: [
              { type: 'text', text: 'compare' },
              { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
              { type: 'image_url', image_url: { url: 'https://example.com/cat.JPG?size=large' } },
              { type: 'input_audio', input_audio: { data: 'UklGRg==', format: 'wav' } },
            ],
          },
        ],
      },
      {
        contents: [
          {
            role: 'user',
            parts: [
              { text: 'compare' },
              { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
              { fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/cat.JPG?size=large' } },
              { inlineData: { mimeType: 'audio/wav', data: 'UklGRg==' } },
            ],
          },
        ],
      },
    ],
    [
      'tool calls → functionCall (empty args → {}), tool results → functionResponse named by the call id, wrapped unless a JSON object',
      {
        messages: [
          { role: 'user', content: 'weather?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'call_b', type: 'function', function: { name: 'now', arguments: '' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_a', content: '{"temp":21}' },
          { role: 'tool', tool_call_id: 'call_b', content: 'noon' },
          { role: 'user', content: 'thanks' },
        ],
      },
      {
        contents: [
          { role: 'user', parts: [{ text: 'weather?' }] },
          { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }, { functionCall: { name: 'now', args: {} } }] },
          {
            role: 'user',
            parts: [{ functionResponse: { name: 'get_weather', response: { temp: 21 } } }, { functionResponse: { name: 'now', response: { content: 'noon' } } }, { text: 'thanks' }],
          },
        ],
      },
    ],
    [
      'tools and tool_choice (named) → functionDeclarations and ANY + allowedFunctionNames; schema reduced to Gemini fields',
      {
        messages: [{ role: 'user', content: 'x' }],
        tools: [
          {
            type: 'function',
            function: {
              name: 'get_weather',
              description: 'Weather',
              parameters: {
                $schema: 'http://json-schema.org/draft-07/schema#',
                type: 'object',
                additionalProperties: false,
                properties: { city: { type: 'string', minLength: 1 }, unit: { type: ['string', 'null'], enum: ['c', 'f'] }, tags: { type: 'array', items: { type: 'string', const: 'a' } } },
                required: ['city'],
              },
            },
          },
          { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } },
        ],
        tool_choice: { type: 'function', function: { name: 'get_weather' } },
      },
      {
        contents: [{ role: 'user', parts: [{ text: 'x' }] }],
        tools: [
          {
            functionDeclarations: [
              {
                name: 'get_weather',
                description: 'Weather',
                parameters: {
                  type: 'object',
                  properties: { city: { type: 'string', minLength: 1 }, unit: { type: 'string', nullable: true, enum: ['c', 'f'] }, tags: { type: 'array', items: { type: 'string', enum: ['a'] } } },
                  required: ['city'],
                },
              },
              { name: 'now' },
            ],
          },
        ],
        toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
      },
    ],
    [
      'generationConfig from sampling fields, stop, seed, n, max_completion_tokens over max_tokens; json_object',
      {
        messages: [{ role: 'user', content: 'x' }],
        temperature: 0.2,
        top_p: 0.9,
        max_tokens: 10,
        max_completion_tokens: 20,
        stop: 'END',
        seed: 7,
        n: 2,
        presence_penalty: 0.5,
        response_format: { type: 'json_object' },
        parallel_tool_calls: false,
        user: 'u-1',
      },
      {
        contents: [{ role: 'user', parts: [{ text: 'x' }] }],
        generationConfig: { temperature: 0.2, topP: 0.9, maxOutputTokens: 20, seed: 7, candidateCount: 2, presencePenalty: 0.5, stopSequences: ['END'], responseMimeType: 'application/json' },
      },
    ],
    [
      'json_schema → responseMimeType + responseJsonSchema (full JSON Schema, unchanged)',
      {
        messages: [{ role: 'user', content: 'x' }],
        response_format: { type: 'json_schema', json_schema: { name: 'r', schema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false } } },
      },
      {
        contents: [{ role: 'user', parts: [{ text: 'x' }] }],
        generationConfig: { responseMimeType: 'application/json', responseJsonSchema: { type: 'object', properties: { a: { type: 'string' } }, additionalProperties: false } },
      },
    ],
  ])('%s', (_name, body, expected) => {
    expect(openAiRequestToGemini(body)).toEqual(expected);
  });

  it.each([
    ['auto', 'AUTO'],
    ['none', 'NONE'],
    ['required', 'ANY'],
  ])('tool_choice %s → mode %s', (choice, mode) => {
    expect(openAiRequestToGemini({ messages: [{ role: 'user', content: 'x' }], tool_choice: choice }).toolConfig).toEqual({ functionCallingConfig: { mode } });
  });

  it('gives a tool call its thought signature back from the id the gateway made', () => {
    const id = toolCallId('c2lnbmF0dXJlLWJ5dGVzLz8+');
    expect(id).toMatch(/^call_[0-9a-f]{24}\.[A-Za-z0-9_-]+$/);
    expect(thoughtSignatureOf(id)).toBe('c2lnbmF0dXJlLWJ5dGVzLz8+');
    expect(thoughtSignatureOf('call_abc')).toBeUndefined();
    const body = openAiRequestToGemini({ messages: [{ role: 'assistant', tool_calls: [{ id, type: 'function', function: { name: 'f', arguments: '{}' } }] }] });
    expect(body.contents).toEqual([{ role: 'model', parts: [{ functionCall: { name: 'f', args: {} }, thoughtSignature: 'c2lnbmF0dXJlLWJ5dGVzLz8+' }] }]);
  });

  it.each<[string, Record<string, unknown>, RegExp]>([
    ['an image URL without a known extension', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/image?id=3' } }] }] }, /cannot be told from its extension.*base64 data URL/],
    ['an image that is neither a data URL nor http(s)', { messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://x/a.png' } }] }] }, /data URL or an http\(s\) URL/],
    ['a tool result for an unknown call', { messages: [{ role: 'tool', tool_call_id: 'call_zz', content: 'x' }] }, /call_zz.*matches no earlier assistant tool call/],
    ['tool-call arguments that are not a JSON object', { messages: [{ role: 'assistant', tool_calls: [{ id: 'c', function: { name: 'f', arguments: '[1]' } }] }] }, /arguments: not a JSON object/],
    ['an image in a system message', { messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] }] }, /only text parts/],
    ['a non-function tool', { messages: [{ role: 'user', content: 'x' }], tools: [{ type: 'custom', custom: { name: 'c' } }] }, /only function tools/],
    ['json_schema without a schema', { messages: [{ role: 'user', content: 'x' }], response_format: { type: 'json_schema', json_schema: { name: 'r' } } }, /json_schema.schema is required/],
    ['an unknown role', { messages: [{ role: 'function', content: 'x' }] }, /role "function" is not supported/],
  ])('answers 400 for %s', (_name, body, message) => rejects(body, message));

  it('keeps anyOf and drops $ref/$defs/oneOf in function parameters', () => {
    expect(toGeminiSchema({ type: 'object', $defs: { a: {} }, properties: { v: { anyOf: [{ type: 'string', format: 'date' }, { $ref: '#/$defs/a' }], oneOf: [] } } })).toEqual({
      type: 'object',
      properties: { v: { anyOf: [{ type: 'string', format: 'date' }, {}] } },
    });
  });
});

describe('Gemini and Vertex URLs and headers', () => {
  const chat = { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'x' }] };

  it('AI Studio: models/{model}:generateContent with x-goog-api-key; streams with alt=sse', () => {
    const { request } = gemini.chatRequest(chat, target('gemini'));
    expect(request.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent');
    expect(request.headers).toMatchObject({ 'x-goog-api-key': 'k-1', 'content-type': 'application/json' });
    expect(request.headers.authorization).toBeUndefined();
    const streamed = gemini.chatRequest({ ...chat, model: 'models/gemini-2.5-pro', stream: true }, target('gemini'));
    expect(streamed.request.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-pro:streamGenerateContent?alt=sse');
    expect(streamed.filter).toBeDefined();
  });

  it('Vertex: regional host from options.vertex.location, global host for "global", Bearer token', () => {
    const regional = vertex.chatRequest(chat, target('vertex', { options: withVertex('my-proj', 'europe-west4') })).request;
    expect(regional.url).toBe('https://europe-west4-aiplatform.googleapis.com/v1/projects/my-proj/locations/europe-west4/publishers/google/models/gemini-2.5-flash:generateContent');
    expect(regional.headers.authorization).toBe('Bearer k-1');
    expect(regional.headers['x-goog-api-key']).toBeUndefined();
    const global = vertex.chatRequest(chat, target('vertex', { options: withVertex('my-proj', 'global'), model: 'gemini-3-pro' })).request;
    expect(global.url).toBe('https://aiplatform.googleapis.com/v1/projects/my-proj/locations/global/publishers/google/models/gemini-3-pro:generateContent');
    const custom = vertex.embeddingsRequest({ model: 'text-embedding-005', input: 'a' }, target('vertex', { baseUrl: 'http://127.0.0.1:9/v1/', options: withVertex('p', 'us-central1') }));
    expect(custom.url).toBe('http://127.0.0.1:9/v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict');
  });

  it('Vertex without a project is a gateway misconfiguration; its model list is a clear 404', () => {
    expect(() => vertex.chatRequest(chat, target('vertex'))).toThrow(expect.objectContaining({ status: 500, message: expect.stringMatching(/options\.vertex\.project/) }));
    expect(() => vertex.chatRequest(chat, target('vertex', { options: withVertex('p', 'evil.example/x#') }))).toThrow(expect.objectContaining({ status: 500, code: 'gateway_misconfigured' }));
    expect(() => vertex.modelsRequest(target('vertex'))).toThrow(expect.objectContaining({ status: 404, code: 'unsupported_api' }));
  });

  it('embeddings: AI Studio batchEmbedContents and Vertex predict bodies; token arrays are a 400', () => {
    const studio = gemini.embeddingsRequest({ model: 'gemini-embedding-001', input: ['a b', 'c'], dimensions: 8 }, target('gemini'));
    expect(studio.url).toBe('https://generativelanguage.googleapis.com/v1beta/models/gemini-embedding-001:batchEmbedContents');
    expect(JSON.parse(studio.body!)).toEqual({
      requests: [
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'a b' }] }, outputDimensionality: 8 },
        { model: 'models/gemini-embedding-001', content: { parts: [{ text: 'c' }] }, outputDimensionality: 8 },
      ],
    });
    const predict = vertex.embeddingsRequest({ model: 'text-embedding-005', input: 'a' }, target('vertex', { options: withVertex('p', 'us-central1') }));
    expect(JSON.parse(predict.body!)).toEqual({ instances: [{ content: 'a' }] });
    expect(() => gemini.embeddingsRequest({ model: 'm', input: [1, 2] }, target('gemini'))).toThrow(expect.objectContaining({ status: 400, message: expect.stringMatching(/token arrays/) }));
  });
});
