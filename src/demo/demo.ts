/**
 * What `serve --demo` loads, in one module so that main.ts can import it dynamically: the demo
 * catalogue and the simulated channel accounts (sim/). Nothing else in src/ imports src/demo/.
 */
export { type DemoReport, loadDemo } from './demo-catalogue.js';
export { startDemoChannels } from './demo-channels.js';
