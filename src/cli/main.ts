import './v8-flags.js';
import { buildProgram } from './program.js';

await buildProgram().parseAsync(process.argv);
