import { GatewayError } from '../../../runtime/relay/errors';
import { isObject, str, type Json } from '../../anthropic/json';

/**
 * OpenAI Responses request (`POST /v1/responses`) → OpenAI chat request, the shape every stage of the suite reads.
 *
 * - `instructions` → a system message in front; `input` as a string → one user message; `input` items:
 *   messages (role user/system/developer/assistant; developer becomes system so that every provider takes it) with
 *   string content or parts input_text/output_text → text, input_image with image_url → image_url part,
 *   input_file with file_data → file part; function_call items → tool_calls of the assistant message they follow,
 *   function_call_output items → tool messages (their image parts follow in a user message); reasoning items have
 *   no chat form and are left out.
 * - tools of type function (flat shape) → chat function tools; tool_choice; max_output_tokens →
 *   max_completion_tokens; temperature, top_p, parallel_tool_calls, stream, user, service_tier, prompt_cache_key,
 *   safety_identifier as they are; text.format json_object/json_schema → response_format, text.verbosity →
 *   verbosity; reasoning.effort → reasoning_effort. `metadata` is only echoed in the answer.
 * - The gateway is stateless: it keeps no responses, so whatever needs a stored one (previous_response_id,
 *   conversation, item_reference items, background) is a 400 that says so, as are what only OpenAI's servers can run:
 *   built-in tools (web_search, file_search, computer_use, …) and files uploaded to OpenAI (file_id).
 */
export function responsesRequestToChat(req: Json): Json {
  refuseStateful(req);
  const messages: Json[] = [];
  if (typeof req.instructions === 'string' && req.instructions) messages.push({ role: 'system', content: req.instructions });
  if (typeof req.input === 'string') messages.push({ role: 'user', content: req.input });
  else if (Array.isArray(req.input)) inputItems(req.input, messages);
  else throw invalid('input: must be a string or a list of input items');

  const body: Json = { model: req.model, messages };
  if (typeof req.max_output_tokens === 'number') body.max_completion_tokens = req.max_output_tokens;
  for (const field of ['temperature', 'top_p', 'parallel_tool_calls', 'stream', 'user', 'service_tier', 'prompt_cache_key', 'safety_identifier'] as const) {
    if (req[field] !== undefined && req[field] !== null) body[field] = req[field];
  }
  const tools = functionTools(req.tools);
  if (tools.length > 0) body.tools = tools;
  if (req.tool_choice !== undefined && req.tool_choice !== null) body.tool_choice = toolChoice(req.tool_choice);
  Object.assign(body, textOptions(req.text));
  if (isObject(req.reasoning) && typeof req.reasoning.effort === 'string') body.reasoning_effort = req.reasoning.effort;
  return body;
}

const STATELESS = 'this gateway is stateless and stores no responses: send the whole conversation in `input`';

function refuseStateful(req: Json): void {
  if (req.previous_response_id != null) throw unsupported(`previous_response_id: ${STATELESS}`);
  if (req.conversation != null) throw unsupported(`conversation: ${STATELESS}`);
  if (req.background === true) throw unsupported('background: background responses need a stored response; this gateway is stateless');
  if (req.prompt != null) throw unsupported('prompt: stored prompt templates live on OpenAI\'s servers; send the instructions and input instead');
}

function inputItems(items: unknown[], out: Json[]): void {
  // images returned by function_call_output items, sent in a user message after the run of tool messages
  let toolImages: Json[] = [];
  const flushToolImages = () => {
    if (toolImages.length > 0) out.push({ role: 'user', content: toolImages });
    toolImages = [];
  };
  items.forEach((item, i) => {
    const at = `input.${i}`;
    if (!isObject(item)) throw invalid(`${at}: must be an object`);
    const type = item.type ?? 'message';
    if (type !== 'function_call_output') flushToolImages();
    switch (type) {
      case 'message':
        return void out.push(message(item, at));
      case 'function_call':
        return void assistantWithToolCalls(out).tool_calls.push({
          id: str(item.call_id),
          type: 'function',
          function: { name: str(item.name), arguments: str(item.arguments) },
        });
      case 'function_call_output': {
        const { text, images } = toolOutput(item.output, at);
        toolImages.push(...images);
        return void out.push({ role: 'tool', tool_call_id: str(item.call_id), content: text });
      }
      case 'reasoning':
        return;
      case 'item_reference':
        throw unsupported(`${at}: item_reference needs the stored item; ${STATELESS} (with the Vercel AI SDK: providerOptions.openai.store = false)`);
      default:
        throw unsupported(`${at}: input items of type "${str(type)}" cannot be sent through this gateway`);
    }
  });
  flushToolImages();
}

/** The assistant message that function_call items attach to: the previous one, or a new one without text. */
function assistantWithToolCalls(out: Json[]): Json & { tool_calls: Json[] } {
  const last = out.at(-1);
  if (last?.role === 'assistant') {
    last.tool_calls ??= [];
    return last as Json & { tool_calls: Json[] };
  }
  const created = { role: 'assistant', content: null, tool_calls: [] as Json[] };
  out.push(created);
  return created;
}

function message(item: Json, at: string): Json {
  const role = str(item.role);
  if (role === 'assistant') return { role, content: typeof item.content === 'string' ? item.content : textOf(parts(item.content, at), at) };
  if (role === 'system' || role === 'developer') {
    return { role: 'system', content: typeof item.content === 'string' ? item.content : textOf(parts(item.content, at), at) };
  }
  if (role !== 'user') throw invalid(`${at}.role: must be "user", "assistant", "system" or "developer"`);
  if (typeof item.content === 'string') return { role, content: item.content };
  const converted = parts(item.content, at).map((part, p) => contentPart(part, `${at}.content.${p}`));
  return { role, content: converted.length === 1 && converted[0].type === 'text' ? converted[0].text : converted };
}

function parts(content: unknown, at: string): Json[] {
  if (!Array.isArray(content)) throw invalid(`${at}.content: must be a string or a list of content parts`);
  return content.map((part, p) => {
    if (!isObject(part)) throw invalid(`${at}.content.${p}: must be an object`);
    return part;
  });
}

/** Text-only content (assistant and system messages): the text parts joined. */
function textOf(content: Json[], at: string): string {
  return content
    .map((part, p) => {
      if (part.type === 'input_text' || part.type === 'output_text') return str(part.text);
      if (part.type === 'refusal') return str(part.refusal);
      throw invalid(`${at}.content.${p}: content of type "${str(part.type)}" is not allowed in this message`);
    })
    .join('');
}

function contentPart(part: Json, at: string): Json {
  switch (part.type) {
    case 'input_text':
    case 'output_text':
      return { type: 'text', text: str(part.text) };
    case 'input_image': {
      if (part.file_id != null || typeof part.image_url !== 'string') throw uploadedFile(at, 'image_url (a URL or a data: URL)');
      const detail = typeof part.detail === 'string' && part.detail !== 'auto' ? { detail: part.detail } : {};
      return { type: 'image_url', image_url: { url: part.image_url, ...detail } };
    }
    case 'input_file': {
      if (part.file_id != null || typeof part.file_data !== 'string') throw uploadedFile(at, 'file_data (a base64 data: URL) with a filename');
      return { type: 'file', file: { file_data: part.file_data, ...(typeof part.filename === 'string' ? { filename: part.filename } : {}) } };
    }
    default:
      throw unsupported(`${at}: content of type "${str(part.type)}" cannot be sent through this gateway`);
  }
}

function toolOutput(output: unknown, at: string): { text: string; images: Json[] } {
  if (typeof output === 'string') return { text: output, images: [] };
  const texts: string[] = [];
  const images: Json[] = [];
  parts(output, `${at}.output`).forEach((part, p) => {
    const converted = contentPart(part, `${at}.output.${p}`);
    if (converted.type === 'text') texts.push(str(converted.text));
    else images.push(converted);
  });
  return { text: texts.join('\n'), images };
}

function functionTools(tools: unknown): Json[] {
  if (tools == null) return [];
  if (!Array.isArray(tools)) throw invalid('tools: must be a list');
  return tools.map((tool, i) => {
    if (!isObject(tool)) throw invalid(`tools.${i}: must be an object`);
    if (tool.type !== 'function') {
      throw unsupported(`tools.${i}: the built-in tool "${str(tool.type)}" runs on OpenAI's servers and is not available through this gateway; only function tools are`);
    }
    const fn: Json = { name: str(tool.name) };
    if (typeof tool.description === 'string') fn.description = tool.description;
    fn.parameters = isObject(tool.parameters) ? tool.parameters : { type: 'object', properties: {} };
    if (typeof tool.strict === 'boolean') fn.strict = tool.strict;
    return { type: 'function', function: fn };
  });
}

function toolChoice(choice: unknown): unknown {
  if (choice === 'auto' || choice === 'none' || choice === 'required') return choice;
  if (isObject(choice) && choice.type === 'function') return { type: 'function', function: { name: str(choice.name) } };
  const kind = isObject(choice) ? `"${str(choice.type)}"` : JSON.stringify(choice);
  throw unsupported(`tool_choice: ${kind} is not supported through this gateway; use auto, none, required or a function`);
}

function textOptions(text: unknown): Json {
  if (!isObject(text)) return {};
  const out: Json = {};
  if (typeof text.verbosity === 'string') out.verbosity = text.verbosity;
  const format = isObject(text.format) ? text.format : undefined;
  if (format?.type === 'json_object') out.response_format = { type: 'json_object' };
  else if (format?.type === 'json_schema') {
    const schema: Json = { name: str(format.name) || 'response', schema: format.schema };
    if (typeof format.description === 'string') schema.description = format.description;
    if (typeof format.strict === 'boolean') schema.strict = format.strict;
    out.response_format = { type: 'json_schema', json_schema: schema };
  } else if (format && format.type !== 'text') throw unsupported(`text.format: "${str(format.type)}" is not supported`);
  return out;
}

const invalid = (message: string) => new GatewayError(400, message, 'invalid_request');
const unsupported = (message: string) => new GatewayError(400, message, 'unsupported_parameter');
const uploadedFile = (at: string, instead: string) =>
  unsupported(`${at}: files uploaded to OpenAI (file_id) cannot be read through this gateway; send ${instead} instead`);
