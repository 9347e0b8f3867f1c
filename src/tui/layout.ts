/** Splits the screen between header, feed, held prompt and footer, counting every row. */
import { feedRows } from './Feed.js';
import { footerRows } from './Footer.js';
import { headerRows } from './Header.js';
import { PROMPT_FRAME_ROWS, PROMPT_SQL_ROWS, promptRows } from './HeldPrompt.js';
import type { Row } from './Line.js';
import type { TuiState } from './state.js';

/** Feed rows (title included) kept on screen under a prompt unless the statement is expanded. */
const MIN_FEED_ROWS = 3;

/** Every row of one frame, by section. */
export interface Screen {
  header: Row[];
  feed: Row[];
  prompt: Row[];
  footer: Row[];
  /** Statement rows in the feed (for paging). */
  viewport: number;
}

/**
 * The rows of a `width` × `height` frame. One row is left free: a frame as tall as the terminal
 * makes Ink clear the whole screen on every update.
 */
export function layout(state: TuiState, width: number, height: number): Screen {
  const usable = Math.max(1, height - 1);
  const header = headerRows(state, width);
  const footer = footerRows(state, width);
  const around = header.length + footer.length;
  let prompt: Row[] = [];
  if (state.pending.length > 0) {
    const room = usable - around - PROMPT_FRAME_ROWS;
    const sqlRows = state.expanded ? room : Math.min(PROMPT_SQL_ROWS, room - MIN_FEED_ROWS);
    prompt = promptRows(state, width, Math.max(1, sqlRows));
  }
  const feedHeight = Math.max(0, usable - around - prompt.length);
  return {
    header,
    feed: feedRows(state, width, feedHeight),
    prompt,
    footer,
    viewport: Math.max(1, feedHeight - 1),
  };
}
