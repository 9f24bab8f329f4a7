import { GatewayError } from '../../runtime/relay/errors';
import { isObject, objects, parseArguments, str, type Json } from '../anthropic/json';
import { alternatingTurns } from '../turns';

type Role = 'user' | 'assistant';

/**
 * OpenAI chat request → Bedrock Converse request (the body of /model/{modelId}/converse and /converse-stream; the
 * model travels in the path).
 *
 * - system and developer messages → `system` text blocks, in order, wherever they stand.
 * - user content: text → `{text}`; image_url with a base64 data URL → `{image:{format, source:{bytes}}}` (http(s)
 *   URLs → 400: Bedrock takes image bytes only); file parts with base64 PDF data → `{document}`; other parts → 400.
 * - assistant: content → text, tool_calls → `{toolUse:{toolUseId, name, input}}` (arguments parsed; not JSON → 400).
 * - tool messages → `{toolResult:{toolUseId, content:[{text}]}}` in a user turn. Consecutive turns of one role are
 *   merged (Bedrock wants user and assistant to alternate).
 * - max_completion_tokens/max_tokens, temperature, top_p, stop → inferenceConfig maxTokens, temperature, topP,
 *   stopSequences.
 * - tools → toolConfig.tools[].toolSpec{name, description, inputSchema.json}; tool_choice auto/required/{function} →
 *   auto/any/tool; `none` → no toolConfig at all (Converse has no "none").
 * - response_format json_schema → outputConfig.textFormat (Bedrock's structured output: the answer text is the JSON);
 *   json_object (no schema to give) and n > 1 → 400. Other OpenAI-only fields are dropped.
 */
export function openAiRequestToConverse(req: Json): Json {
  if (typeof req.n === 'number' && req.n > 1) throw unsupported('n > 1 is not supported by provider bedrock');
  const system: Json[] = [];
  const { turns, push } = alternatingTurns<Role>();
  objects(req.messages).forEach((m, i) => {
    const role = str(m.role);
    const at = `messages.${i}`;
    if (role === 'system' || role === 'developer') system.push(...textBlocks(m.content, at));
    else if (role === 'user') push('user', userBlocks(m.content, at));
    else if (role === 'assistant') push('assistant', assistantBlocks(m, at));
    else if (role === 'tool') push('user', [toolResultBlock(m)]);
    else throw unsupported(`${at}.role "${role}" is not supported by provider bedrock`);
  });

  const body: Json = { messages: turns };
  if (system.length > 0) body.system = system;
  const inference = inferenceConfig(req);
  if (Object.keys(inference).length > 0) body.inferenceConfig = inference;
  const tools = toolConfig(req);
  if (tools) body.toolConfig = tools;
  const output = outputConfig(req.response_format);
  if (output) body.outputConfig = output;
  return body;
}

const unsupported = (message: string, code = 'unsupported_parameter') => new GatewayError(400, message, code);

function inferenceConfig(req: Json): Json {
  const config: Json = {};
  const maxTokens = [req.max_completion_tokens, req.max_tokens].find((v) => typeof v === 'number' && Number.isInteger(v) && v > 0);
  if (maxTokens !== undefined) config.maxTokens = maxTokens;
  if (typeof req.temperature === 'number') config.temperature = req.temperature;
  if (typeof req.top_p === 'number') config.topP = req.top_p;
  const stop = typeof req.stop === 'string' ? [req.stop] : Array.isArray(req.stop) ? req.stop.filter((s) => typeof s === 'string' && s !== '') : [];
  if (stop.length > 0) config.stopSequences = stop;
  return config;
}

function toolConfig(req: Json): Json | undefined {
  const tools = objects(req.tools).filter((t) => t.type === 'function' && isObject(t.function));
  if (tools.length === 0 || req.tool_choice === 'none') return undefined;
  const config: Json = {
    tools: tools.map((t) => {
      const fn = t.function as Json;
      const spec: Json = { name: str(fn.name), inputSchema: { json: isObject(fn.parameters) ? fn.parameters : { type: 'object', properties: {} } } };
      if (typeof fn.description === 'string' && fn.description !== '') spec.description = fn.description;
      return { toolSpec: spec };
    }),
  };
  const choice = req.tool_choice;
  if (choice === 'auto') config.toolChoice = { auto: {} };
  else if (choice === 'required') config.toolChoice = { any: {} };
  else if (isObject(choice) && isObject(choice.function)) config.toolChoice = { tool: { name: str(choice.function.name) } };
  return config;
}

function outputConfig(format: unknown): Json | undefined {
  const type = isObject(format) ? str(format.type) : '';
  if (!type || type === 'text') return undefined;
  const spec = isObject(format) && isObject(format.json_schema) ? format.json_schema : undefined;
  if (type !== 'json_schema' || !spec || !isObject(spec.schema)) {
    throw unsupported(`response_format ${type} is not supported by provider bedrock; use json_schema with a schema`);
  }
  const jsonSchema: Json = { schema: JSON.stringify(spec.schema), name: str(spec.name) || 'response' };
  if (typeof spec.description === 'string') jsonSchema.description = spec.description;
  return { textFormat: { type: 'json_schema', structure: { jsonSchema } } };
}

function textBlocks(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return objects(content).flatMap((part, i) => {
    if (part.type !== 'text') throw unsupported(`${at}.content.${i}: only text parts are allowed here`, 'unsupported_content');
    return str(part.text) === '' ? [] : [{ text: str(part.text) }];
  });
}

function userBlocks(content: unknown, at: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return objects(content).flatMap((part, i) => userBlock(part, `${at}.content.${i}`));
}

const IMAGE_FORMATS: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/jpg': 'jpeg', 'image/gif': 'gif', 'image/webp': 'webp' };

function userBlock(part: Json, at: string): Json[] {
  switch (part.type) {
    case 'text':
      return str(part.text) === '' ? [] : [{ text: str(part.text) }];
    case 'image_url': {
      const url = isObject(part.image_url) ? str(part.image_url.url) : '';
      if (/^https?:\/\//i.test(url)) {
        throw unsupported(`${at}: provider bedrock takes images as bytes only; send the image as a base64 data URL`, 'unsupported_content');
      }
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      const format = data ? IMAGE_FORMATS[data[1].toLowerCase()] : undefined;
      if (!data || !format) throw unsupported(`${at}: image_url must be a base64 data URL of a png, jpeg, gif or webp image`, 'unsupported_content');
      return [{ image: { format, source: { bytes: data[2] } } }];
    }
    case 'file': {
      const file = isObject(part.file) ? part.file : {};
      const data = /^data:application\/pdf;base64,(.*)$/s.exec(str(file.file_data));
      if (!data) throw unsupported(`${at}: only base64 PDF files can be sent to provider bedrock`, 'unsupported_content');
      // Bedrock allows letters, digits, single spaces, hyphens, parentheses and brackets in a document name
      const name = str(file.filename).replace(/\.pdf$/i, '').replace(/[^A-Za-z0-9 ()[\]-]+/g, ' ').replace(/\s+/g, ' ').trim() || 'document';
      return [{ document: { format: 'pdf', name, source: { bytes: data[1] } } }];
    }
    default:
      throw unsupported(`${at}: content part type "${str(part.type)}" is not supported by provider bedrock`, 'unsupported_content');
  }
}

/** Bedrock's toolUseId allows [a-zA-Z0-9_-]; the same mapping is applied to calls and results so they still pair. */
export const toolUseId = (id: unknown): string => str(id).replace(/[^A-Za-z0-9_-]/g, '_');

function assistantBlocks(m: Json, at: string): Json[] {
  const blocks: Json[] = [];
  if (typeof m.content === 'string' && m.content !== '') blocks.push({ text: m.content });
  else for (const part of objects(m.content)) if (part.type === 'text' && str(part.text) !== '') blocks.push({ text: str(part.text) });
  objects(m.tool_calls).forEach((call, i) => {
    const fn = isObject(call.function) ? call.function : {};
    const input = parseArguments(fn.arguments);
    if (!input) throw unsupported(`${at}.tool_calls.${i}.function.arguments: not a JSON object`, 'invalid_tool_arguments');
    blocks.push({ toolUse: { toolUseId: toolUseId(call.id), name: str(fn.name), input } });
  });
  return blocks;
}

function toolResultBlock(m: Json): Json {
  const text = typeof m.content === 'string' ? m.content : objects(m.content).filter((p) => p.type === 'text').map((p) => str(p.text)).join('');
  return { toolResult: { toolUseId: toolUseId(m.tool_call_id), content: [{ text }] } };
}
