/**
 * The live view of one session: header, statement feed, approval prompt, footer. Keys act only when
 * Ink can read single key presses (stdin is a TTY); otherwise the view is read-only.
 */
import { Box, useInput, useStdin } from 'ink';
import { useRef } from 'react';
import type { LiveSource } from '../live/events.js';
import { Feed } from './Feed.js';
import { Footer } from './Footer.js';
import { Header } from './Header.js';
import { HeldPrompt } from './HeldPrompt.js';
import { keyAction } from './keys.js';
import { layout } from './layout.js';
import { useLiveSession } from './use-live-session.js';
import { useTerminalSize } from './use-terminal-size.js';

/** What the caller decides about the view. */
export interface AppProps {
  /** Where events come from and decisions go; read once, at mount. */
  source: LiveSource;
  /** Called for `q` and Ctrl-C; the caller decides what quitting means (unmount, end the session…). */
  onQuit: () => void;
  /** Colours on; default off when `NO_COLOR` is set. Words carry every meaning either way. */
  color?: boolean;
  /** Epoch ms now; read once, at mount. */
  clock?: () => number;
  /** Columns and rows; default the output stream's, following resizes. */
  width?: number;
  height?: number;
  /** Least ms between two applied event batches (default 100). */
  batchMs?: number;
  /** Ms between countdown ticks (default 1000). */
  tickMs?: number;
}

/** The whole live view. */
export function App(props: AppProps) {
  const color = props.color ?? !process.env.NO_COLOR;
  const { state, dispatch, current } = useLiveSession(props.source, {
    clock: props.clock ?? Date.now,
    batchMs: props.batchMs ?? 100,
    tickMs: props.tickMs ?? 1000,
  });
  const { width, height } = useTerminalSize({ width: props.width, height: props.height });
  const screen = layout(state, width, height);
  const viewport = useRef(screen.viewport);
  viewport.current = screen.viewport;

  const { isRawModeSupported } = useStdin();
  const { onQuit } = props;
  useInput(
    (input, key) => {
      const action = keyAction(input, key, current(), viewport.current);
      if (action === 'quit') onQuit();
      else if (action) dispatch(action);
    },
    { isActive: isRawModeSupported },
  );

  return (
    <Box flexDirection="column" width={width}>
      <Header rows={screen.header} color={color} />
      <Feed rows={screen.feed} color={color} />
      {screen.prompt.length > 0 && <HeldPrompt rows={screen.prompt} color={color} />}
      <Footer rows={screen.footer} color={color} />
    </Box>
  );
}
