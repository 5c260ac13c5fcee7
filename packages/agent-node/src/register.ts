/**
 * `node --import @spyglass/agent-node/register app.js`: start the agent from `SPYGLASS_*` settings before the app.
 * Never throws; an agent that cannot start leaves the app running as if it were absent.
 */
import { start } from './agent.js';

start();
