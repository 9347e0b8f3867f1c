import v8 from 'node:v8';

/*
 * Imported first by the CLI entry point, before any WebAssembly is compiled (V8 reads these
 * flags once, when its WebAssembly engine starts).
 *
 * `--liftoff-only`: the SQL parser is a large WebAssembly module (PostgreSQL's grammar). Left to
 * itself, V8 recompiles its hot functions with TurboFan on background threads, and that
 * compiler's scratch memory stays resident in those threads' malloc arenas: ~120 MB of the
 * proxy's RSS under pgbench, measured (236 MB → 115 MB peak). Liftoff's baseline code parses a
 * typical statement in ~55 µs instead of ~45 µs, and the decision cache keeps parsing off the
 * hot path anyway.
 */
v8.setFlagsFromString('--liftoff-only');
