import type { ApprovalItem } from '../broker/api.js';

/** What an approver typed at the prompt. */
export type Answer = 'approve' | 'approve-shape' | 'deny' | 'skip';

/** The prompt for an item: statements can also be approved by shape. */
export function promptFor(item: ApprovalItem): string {
  return item.kind === 'statement'
    ? '[a]pprove once, [A]pprove shape (rest of the session), [d]eny, [s]kip > '
    : '[a]pprove, [d]eny, [s]kip > ';
}

/** Reads an answer (`a`, `A`, `d`, `s` or the words); undefined when it is none of them for this item. */
export function parseAnswer(text: string, item: ApprovalItem): Answer | undefined {
  const answer = text.trim();
  if (answer === 'a' || answer.toLowerCase() === 'approve') return 'approve';
  if (answer === 'A' || answer.toLowerCase() === 'shape') {
    return item.kind === 'statement' ? 'approve-shape' : undefined;
  }
  if (/^(d|deny)$/i.test(answer)) return 'deny';
  if (/^(s|skip)$/i.test(answer)) return 'skip';
  return undefined;
}
