type Json = Record<string, unknown>;

/**
 * Conversation turns for APIs that want strictly alternating roles (Anthropic, Bedrock): consecutive blocks of the
 * same role are merged into one turn, and empty turns are left out.
 */
export function alternatingTurns<Role extends string>() {
  const turns: { role: Role; content: Json[] }[] = [];
  const push = (role: Role, blocks: Json[]) => {
    if (blocks.length === 0) return;
    const last = turns.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  };
  return { turns, push };
}
