export { buildProgram } from './program.js';
export { main } from './main.js';
export { ExitCode, CliError } from './exit-codes.js';
export { serve, closeOnSignal, type ServeFlags } from './commands/serve.js';
