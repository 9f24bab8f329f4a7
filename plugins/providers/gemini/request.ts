import { GatewayError } from '../../runtime/relay/errors';
import { isObject, objects, parseArguments, str, type Json } from '../anthropic/json';
import { toGeminiSchema } from './schema';
import { thoughtSignatureOf } from './tool-call-id';

type Role = 'user' | 'model';
interface Turn {
  role: Role;
  parts: Json[];
}

/**
 * OpenAI chat request → Gemini `GenerateContentRequest` (the model goes in the URL, not the body).
 *
 * - system and developer messages (all of them, strings or text parts) → `systemInstruction.parts`.
 * - user → role `user`, assistant → role `model`; consecutive turns of the same role are merged (Gemini wants them
 *   alternating). Tool results are `user` turns too, so the user text that follows them joins the same turn.
 * - parts: text → `text`; image_url data URL → `inlineData`, http(s)/gs URL → `fileData` with the MIME type guessed
 *   from the file extension (unknown extension → 400); input_audio → `inlineData` audio/<format>; file with a data
 *   URL → `inlineData`. Anything else → 400.
 * - assistant tool_calls → `functionCall` parts (arguments parsed; empty → `{}`; not a JSON object → 400), with the
 *   thought signature carried in the call id (./tool-call-id.ts).
 * - tool messages → `functionResponse` parts named after the earlier tool call with that id; a JSON object result is
 *   the response, anything else is wrapped as `{"content": …}`.
 * - tools → one `functionDeclarations` tool (parameters reduced to Gemini's schema subset, ./schema.ts);
 *   tool_choice auto/none/required/{function} → functionCallingConfig AUTO/NONE/ANY/ANY + allowedFunctionNames.
 * - generationConfig: temperature, top_p, top_k, max_completion_tokens ?? max_tokens, stop, seed, n → candidateCount,
 *   presence/frequency penalties; response_format json_object → responseMimeType application/json, json_schema →
 *   that and responseJsonSchema. Other OpenAI-only fields (logprobs, parallel_tool_calls, user…) are dropped.
 */
export function openAiRequestToGemini(req: Json): Json {
  const system: Json[] = [];
  const turns: Turn[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: Role, parts: Json[]) => {
    if (parts.length === 0) return;
    const last = turns.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else turns.push({ role, parts });
  };
  objects(req.messages).forEach((m, i) => {
    const role = str(m.role);
    const at = `messages.${i}`;
    if (role === 'system' || role === 'developer') system.push(...textParts(m.content, at));
    else if (role === 'user') push('user', userParts(m.content, at));
    else if (role === 'assistant') push('model', assistantParts(m, at, toolNames));
    else if (role === 'tool') push('user', [functionResponsePart(m, at, toolNames)]);
    else throw new GatewayError(400, `${at}.role "${role}" is not supported by this provider`, 'unsupported_content');
  });

  const body: Json = { contents: turns };
  if (system.length > 0) body.systemInstruction = { parts: system };
  const tools = functionDeclarations(req.tools);
  if (tools.length > 0) body.tools = [{ functionDeclarations: tools }];
  const toolConfig = functionCallingConfig(req.tool_choice);
  if (toolConfig) body.toolConfig = { functionCallingConfig: toolConfig };
  const generationConfig = generationConfigOf(req);
  if (Object.keys(generationConfig).length > 0) body.generationConfig = generationConfig;
  return body;
}

function textParts(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return objects(content).map((part, i) => {
    if (part.type !== 'text') throw new GatewayError(400, `${at}.content.${i}: only text parts are allowed here`, 'unsupported_content');
    return { text: str(part.text) };
  });
}

function userParts(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return objects(content).map((part, i) => userPart(part, `${at}.content.${i}`));
}

function userPart(part: Json, at: string): Json {
  switch (part.type) {
    case 'text':
      return { text: str(part.text) };
    case 'image_url':
      return mediaPart(isObject(part.image_url) ? str(part.image_url.url) : '', at);
    case 'input_audio': {
      const audio = isObject(part.input_audio) ? part.input_audio : {};
      if (!str(audio.data) || !str(audio.format)) throw new GatewayError(400, `${at}: input_audio needs data and format`, 'unsupported_content');
      return { inlineData: { mimeType: `audio/${str(audio.format)}`, data: str(audio.data) } };
    }
    case 'file': {
      const data = dataUrl(isObject(part.file) ? str(part.file.file_data) : '');
      if (!data) throw new GatewayError(400, `${at}: only files given as base64 data URLs (file_data) can be sent to this provider`, 'unsupported_content');
      return { inlineData: data };
    }
    default:
      throw new GatewayError(400, `${at}: content part type "${str(part.type)}" is not supported by this provider`, 'unsupported_content');
  }
}

function dataUrl(url: string): { mimeType: string; data: string } | undefined {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mimeType: match[1], data: match[2] } : undefined;
}

const MIME_BY_EXTENSION: Record<string, string> = {
  png: 'image/png',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  heic: 'image/heic',
  heif: 'image/heif',
  pdf: 'application/pdf',
};

/** Gemini's fileData needs a MIME type, which a bare URL only gives by its extension. */
function mediaPart(url: string, at: string): Json {
  const inline = dataUrl(url);
  if (inline) return { inlineData: inline };
  if (!/^(https?|gs):\/\//i.test(url)) throw new GatewayError(400, `${at}: image_url must be a base64 data URL or an http(s) URL`, 'unsupported_content');
  const extension = /\.([A-Za-z0-9]+)$/.exec(new URL(url).pathname)?.[1]?.toLowerCase() ?? '';
  const mimeType = MIME_BY_EXTENSION[extension];
  if (!mimeType) {
    throw new GatewayError(
      400,
      `${at}: the image type of this URL cannot be told from its extension (${Object.keys(MIME_BY_EXTENSION).join(', ')}); send the image as a base64 data URL`,
      'unsupported_content',
    );
  }
  return { fileData: { mimeType, fileUri: url } };
}

function assistantParts(m: Json, at: string, toolNames: Map<string, string>): Json[] {
  const parts: Json[] = [];
  if (typeof m.content === 'string' && m.content !== '') parts.push({ text: m.content });
  else for (const part of objects(m.content)) if ((part.type === 'text' || part.type === 'refusal') && str(part.text ?? part.refusal) !== '') parts.push({ text: str(part.text ?? part.refusal) });
  objects(m.tool_calls).forEach((call, i) => {
    const fn = isObject(call.function) ? call.function : {};
    const args = parseArguments(fn.arguments);
    if (!args) throw new GatewayError(400, `${at}.tool_calls.${i}.function.arguments: not a JSON object`, 'invalid_tool_arguments');
    const id = str(call.id);
    toolNames.set(id, str(fn.name));
    const signature = thoughtSignatureOf(id);
    parts.push({ functionCall: { name: str(fn.name), args }, ...(signature ? { thoughtSignature: signature } : {}) });
  });
  return parts;
}

function functionResponsePart(m: Json, at: string, toolNames: Map<string, string>): Json {
  const name = toolNames.get(str(m.tool_call_id)) ?? str(m.name);
  if (!name) throw new GatewayError(400, `${at}.tool_call_id "${str(m.tool_call_id)}" matches no earlier assistant tool call`, 'unsupported_content');
  const text = typeof m.content === 'string' ? m.content : objects(m.content).filter((p) => p.type === 'text').map((p) => str(p.text)).join('');
  return { functionResponse: { name, response: toolResult(text) } };
}

/** Gemini's function response is a JSON object: other results are wrapped as `{"content": …}`. */
function toolResult(text: string): Json {
  try {
    const parsed: unknown = JSON.parse(text);
    return isObject(parsed) ? parsed : { content: parsed };
  } catch {
    return { content: text };
  }
}

function functionDeclarations(tools: unknown): Json[] {
  return objects(tools).map((t, i) => {
    if (t.type !== 'function' || !isObject(t.function)) throw new GatewayError(400, `tools.${i}: only function tools are supported by this provider`, 'unsupported_parameter');
    const fn = t.function;
    const parameters = isObject(fn.parameters) ? toGeminiSchema(fn.parameters) : undefined;
    // a function without parameters has none in Gemini (an empty object schema is rejected)
    const empty = !parameters || (parameters.type === 'object' && !(isObject(parameters.properties) && Object.keys(parameters.properties).length > 0));
    return { name: str(fn.name), ...(typeof fn.description === 'string' ? { description: fn.description } : {}), ...(empty ? {} : { parameters }) };
  });
}

function functionCallingConfig(choice: unknown): Json | undefined {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  if (isObject(choice) && isObject(choice.function)) return { mode: 'ANY', allowedFunctionNames: [str(choice.function.name)] };
  return undefined;
}

const positiveInt = (v: unknown): number | undefined => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : undefined);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

function generationConfigOf(req: Json): Json {
  const config: Json = {
    temperature: num(req.temperature),
    topP: num(req.top_p),
    topK: positiveInt(req.top_k),
    maxOutputTokens: positiveInt(req.max_completion_tokens) ?? positiveInt(req.max_tokens),
    seed: typeof req.seed === 'number' && Number.isInteger(req.seed) ? req.seed : undefined,
    candidateCount: (positiveInt(req.n) ?? 1) > 1 ? req.n : undefined,
    presencePenalty: num(req.presence_penalty),
    frequencyPenalty: num(req.frequency_penalty),
  };
  const stop = typeof req.stop === 'string' ? [req.stop] : Array.isArray(req.stop) ? req.stop.filter((s) => typeof s === 'string') : [];
  if (stop.length > 0) config.stopSequences = stop;
  const format = isObject(req.response_format) ? req.response_format : {};
  if (format.type === 'json_object') config.responseMimeType = 'application/json';
  else if (format.type === 'json_schema') {
    const schema = isObject(format.json_schema) && isObject(format.json_schema.schema) ? format.json_schema.schema : undefined;
    if (!schema) throw new GatewayError(400, 'response_format.json_schema.schema is required', 'invalid_response_format');
    config.responseMimeType = 'application/json';
    config.responseJsonSchema = schema;
  } else if (format.type !== undefined && format.type !== 'text') {
    throw new GatewayError(400, `response_format ${str(format.type)} is not supported by this provider`, 'unsupported_parameter');
  }
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined));
}
