/**
 * The recorder lives with the events (src/events/recorder.ts), so the event log can use it without
 * depending on actors; actors keep importing it from here.
 */
export { discarding, recording } from '../events/recorder';
