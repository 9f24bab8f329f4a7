/**
 * A request shaped like Claude Code's (see shared research on real clients): streaming, three system blocks with
 * cache_control (the first a per-conversation version string), 12 tools (one deferred, one server tool), adaptive
 * thinking, output_config, context_management and a JSON metadata.user_id.
 */
const toolNames = ['Bash', 'Read', 'Edit', 'Write', 'Glob', 'Grep', 'TodoWrite', 'WebFetch', 'Task', 'NotebookEdit', 'ExitPlanMode'];

export const CLAUDE_CODE_BETAS = 'claude-code-20250219,interleaved-thinking-2025-05-14,context-management-2025-06-27,fine-grained-tool-streaming-2025-05-14,prompt-caching-scope-2026-01-05,effort-2025-11-24,oauth-2025-04-20,tool-search-tool-2025-10-19';

export const claudeCodeRequest = {
  model: 'claude-sonnet-4-5',
  max_tokens: 32000,
  stream: true,
  system: [
    { type: 'text', text: 'x-anthropic-billing-header: cc_version=2.1.330.a1b; cc_entrypoint=sdk-cli;' },
    { type: 'text', text: 'You are Claude Code, Anthropic\'s official CLI for Claude.', cache_control: { type: 'ephemeral' } },
    { type: 'text', text: 'You are an interactive CLI tool that helps users with software engineering tasks.', cache_control: { type: 'ephemeral' } },
  ],
  messages: [
    {
      role: 'user',
      content: [
        { type: 'text', text: '<system-reminder>As you answer the user\'s questions, you can use the following context.</system-reminder>' },
        { type: 'text', text: 'Say the Greek letters', cache_control: { type: 'ephemeral' } },
      ],
    },
  ],
  tools: [
    ...toolNames.map((name, i) => ({
      name,
      description: `${name} tool`,
      input_schema: { type: 'object', properties: { arg: { type: 'string', description: `argument of ${name}` } }, required: ['arg'], additionalProperties: false, $schema: 'http://json-schema.org/draft-07/schema#' },
      ...(i === toolNames.length - 1 ? { defer_loading: true } : {}),
    })),
    { type: 'web_search_20250305', name: 'web_search', max_uses: 8 },
  ],
  metadata: { user_id: JSON.stringify({ device_id: 'd0c1', account_uuid: '', session_id: 'a1b2c3' }) },
  thinking: { type: 'adaptive' },
  output_config: { effort: 'medium' },
  context_management: { edits: [{ type: 'clear_thinking_20251015', keep: 'all' }] },
};
