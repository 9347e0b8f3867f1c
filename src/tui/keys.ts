/** Which action a key press means, given what the view is doing (typing a deny reason, or not). */
import type { Key } from 'ink';
import type { Action, TuiState } from './state.js';

/** The parts of Ink's `Key` the bindings look at. */
export type KeyPress = Pick<
  Key,
  | 'upArrow'
  | 'downArrow'
  | 'leftArrow'
  | 'rightArrow'
  | 'pageUp'
  | 'pageDown'
  | 'home'
  | 'end'
  | 'return'
  | 'escape'
  | 'ctrl'
  | 'meta'
  | 'tab'
  | 'backspace'
  | 'delete'
>;

/**
 * The action for a key, `'quit'` for `q` and Ctrl-C (the caller decides what quitting means), or
 * undefined. `viewport` is the number of feed rows on screen (for paging).
 */
export function keyAction(
  input: string,
  key: KeyPress,
  state: TuiState,
  viewport: number,
): Action | 'quit' | undefined {
  if (key.ctrl && input === 'c') return 'quit';
  if (state.input.mode === 'reason') return reasonKey(input, key);
  const scroll = (to: Extract<Action, { type: 'scroll' }>['to']): Action => ({
    type: 'scroll',
    to,
    viewport,
  });
  if (key.upArrow) return scroll('up');
  if (key.downArrow) return scroll('down');
  if (key.pageUp) return scroll('page-up');
  if (key.pageDown) return scroll('page-down');
  if (key.home) return scroll('top');
  if (key.end) return scroll('bottom');
  if (key.ctrl || key.meta) return undefined;
  switch (input) {
    case 'q':
      return 'quit';
    case 'k':
      return scroll('up');
    case 'j':
      return scroll('down');
    case 'g':
      return scroll('top');
    case 'G':
      return scroll('bottom');
    case 'f':
      return { type: 'cycle-filter' };
    case 'a':
      return { type: 'approve', scope: 'once' };
    case 'A':
      return { type: 'approve', scope: 'fingerprint' };
    case 'd':
      return { type: 'deny' };
    case 'n':
      return { type: 'select', to: 'next' };
    case 'p':
      return { type: 'select', to: 'previous' };
    case 'v':
      return state.pending.length > 0 ? { type: 'toggle-expand' } : undefined;
    default:
      return undefined;
  }
}

function reasonKey(input: string, key: KeyPress): Action | undefined {
  if (key.escape) return { type: 'cancel' };
  if (key.return) return { type: 'submit' };
  if (key.backspace || key.delete) return { type: 'reason-erase' };
  if (key.ctrl || key.meta || key.tab || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) {
    return undefined;
  }
  if (key.pageUp || key.pageDown || key.home || key.end) return undefined;
  return input === '' ? undefined : { type: 'reason-type', text: input };
}
