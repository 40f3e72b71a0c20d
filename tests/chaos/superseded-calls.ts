// Which answered provider calls a later request made unnecessary: the calls a killed activity attempt paid for
// and lost, which the next attempt asks again.

export interface AnsweredRequest {
  system: string;
  messages: readonly { role: string; content: string }[];
  schema?: unknown;
}

/**
 * Counts answered calls that a later request superseded. A conversation is a system prompt, its opening user
 * turn and the output schema; its chain is the opening request plus the correction turns that followed
 * unusable replies. When the opening request is asked again, every call of the chain before it was
 * superseded (an attempt that died after a malformed reply and its correction loses both, yet re-asks only
 * the opening); a request repeated inside a chain supersedes its earlier copy.
 */
export function supersededCalls(answered: readonly AnsweredRequest[]): number {
  const chains = new Map<string, Set<string>>();
  let superseded = 0;
  for (const r of answered) {
    const firstUser = r.messages.findIndex((m) => m.role === 'user');
    const conversation = JSON.stringify([r.system, r.messages.slice(0, firstUser + 1), r.schema ?? null]);
    const turn = JSON.stringify(r.messages.slice(firstUser + 1));
    const chain = chains.get(conversation);
    if (!chain || r.messages.length === firstUser + 1) {
      superseded += chain?.size ?? 0;
      chains.set(conversation, new Set([turn]));
    } else if (chain.has(turn)) superseded++;
    else chain.add(turn);
  }
  return superseded;
}
