import { anthropicRequestToOpenAi } from '../providers/anthropic/inbound-request';
import type { PassThroughMemo } from '../providers/anthropic/passthrough';
import { responsesRequestToChat } from '../providers/openai/responses/inbound-request';
import type { Exchange } from '../runtime/relay/stage';

/**
 * Runs in the relay right after the body is parsed, before any stage: an Anthropic Messages request becomes an
 * OpenAI chat request (`ex.api` = 'openai-chat', so the PII guard, limits and cost read it like any chat), the
 * client's own request is kept in `ex.inbound` for the answer's format and for pass-through to Anthropic.
 * count_tokens is translated too (for the tokenizer) but keeps its own api: no stage treats it as a call.
 */
export function normalizeInbound(ex: Exchange): void {
  if (ex.api === 'openai-responses' && ex.body) {
    // an OpenAI Responses request: the same, its answer rebuilt from the chat completion (see relay-stage.ts)
    ex.inbound = { api: ex.api, body: ex.body };
    ex.body = responsesRequestToChat(ex.body);
    ex.api = 'openai-chat';
    return;
  }
  if ((ex.api !== 'anthropic-messages' && ex.api !== 'anthropic-count-tokens') || !ex.body) return;
  const { body, slots } = anthropicRequestToOpenAi(ex.body);
  const memo: PassThroughMemo = { snapshot: JSON.stringify(body), slots };
  ex.inbound = { api: ex.api, body: ex.body, translation: memo };
  ex.body = body;
  if (ex.api === 'anthropic-messages') ex.api = 'openai-chat';
}
