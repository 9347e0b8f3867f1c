import type { ApprovalItem } from '../broker/api.js';

/** How an approver's queue changed between two answers of `GET /v1/approvals`. */
export interface QueueChange {
  /** Pending now, not before (in the order of the new answer). */
  added: ApprovalItem[];
  /** Pending before, not now: decided (here or elsewhere), withdrawn or expired. */
  removed: ApprovalItem[];
}

/** Compares two snapshots by id; an item that is no longer `pending` counts as removed. */
export function diffQueue(before: readonly ApprovalItem[], after: readonly ApprovalItem[]): QueueChange {
  const was = new Map(pendingOnly(before).map((item) => [item.id, item]));
  const now = pendingOnly(after);
  const is = new Set(now.map((item) => item.id));
  return {
    added: now.filter((item) => !was.has(item.id)),
    removed: [...was.values()].filter((item) => !is.has(item.id)),
  };
}

/** The items still waiting for a decision. */
export function pendingOnly(items: readonly ApprovalItem[]): ApprovalItem[] {
  return items.filter((item) => item.status === 'pending');
}
