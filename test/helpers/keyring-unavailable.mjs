// Fault injection for the tests: loaded with `node --import`, it makes `@napi-rs/keyring` behave
// as on a headless Linux without a usable keyring (every call answers AccessDenied).
import { register } from 'node:module';

const fake = `export class Entry {
  constructor() {}
  getPassword() { throw new Error("Couldn't access platform storage: AccessDenied"); }
  setPassword() { throw new Error("Couldn't access platform storage: AccessDenied"); }
  deletePassword() { throw new Error("Couldn't access platform storage: AccessDenied"); }
}`;

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier === '@napi-rs/keyring') {
    return { url: 'data:text/javascript,' + encodeURIComponent(${JSON.stringify(fake)}), shortCircuit: true };
  }
  return next(specifier, context);
}`;

register(`data:text/javascript,${encodeURIComponent(hooks)}`);
