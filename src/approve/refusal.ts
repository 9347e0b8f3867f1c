import type { ApprovalDecision } from '../broker/api.js';
import { BrokerError } from '../grant/broker-client.js';
import { ApproveError } from './check-options.js';

/** Hints for the broker's refusals of a decision, by error code. */
const REFUSAL_HINTS: Record<string, string> = {
  self_approval: 'nobody decides their own requests: another approver must',
  not_an_approver: "the broker's rules name who may approve this request (`jit approve --list` shows yours)",
  not_pending:
    'it was decided by someone else, withdrawn or expired; `jit approve --list` shows what is pending',
  not_found: 'check the ID with `jit approve --list`',
};

/**
 * A broker refusal of a decision (403, 404, 409) as an ApproveError naming the request, with a hint;
 * undefined for other errors, which keep their own message.
 */
export function refusal(error: unknown, id: string, decision: ApprovalDecision): ApproveError | undefined {
  if (!(error instanceof BrokerError) || ![403, 404, 409].includes(error.status)) return undefined;
  const hint = REFUSAL_HINTS[error.code] ?? (error.status === 404 ? REFUSAL_HINTS.not_found : undefined);
  return new ApproveError(error.code, `cannot ${decision.decision} ${id}: ${error.message}`, {
    ...(hint !== undefined && { hint }),
    cause: error,
  });
}
