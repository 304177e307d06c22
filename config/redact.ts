/**
 * Keep secrets out of logs and config dumps: passwords in URLs (`amqp://user:pass@host` →
 * `amqp://user:***@host`) and the values of fields whose name says they hold a secret.
 */

export const REDACTED = '***';

/** `scheme://user:password@` with the password replaced, anywhere in the text. */
const URL_PASSWORD_RE = /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@:]*:)[^\s/?#@]*@/g;

/** Text with every URL password masked; the rest (user, host, path) is kept. */
export function redactUrl(text: string): string {
  return text.replace(URL_PASSWORD_RE, `$1${REDACTED}@`);
}

/** Words that mark a field as secret: `password`, `sasl_password`, `apiKey`, `token`, `tls_key`. */
const SECRET_WORDS = new Set(['password', 'passwd', 'pass', 'pwd', 'token', 'secret', 'key', 'credentials']);

/** Whether a field name says it holds a secret (split on `_`, `-`, `.` and camelCase). */
export function isSecretField(name: string): boolean {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .split(/[_\-.\s]+/);
  return words.some((w) => SECRET_WORDS.has(w));
}

/** A value that only names where a secret comes from (`${VAR}`) is safe to show. */
function isReference(value: string): boolean {
  return /^\$\{[A-Za-z_][A-Za-z0-9_]*(?::-?[^}]*)?\}$/.test(value);
}

/**
 * A deep copy of a config for dumps and logs: secret-named fields hold `***` (unless they are
 * still a `${VAR}` reference), and every string has its URL passwords masked.
 */
export function redactConfig<T>(value: T): T {
  return redactValue(value, false) as T;
}

function redactValue(value: unknown, secret: boolean): unknown {
  if (typeof value === 'string') {
    if (secret && !isReference(value)) return REDACTED;
    return redactUrl(value);
  }
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') {
    return secret ? REDACTED : value;
  }
  if (Array.isArray(value)) return value.map((v) => redactValue(v, secret));
  if (value instanceof Map) {
    return new Map([...value].map(([k, v]) => [k, redactValue(v, secret || isSecretField(String(k)))]));
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, secret || isSecretField(k));
    return out;
  }
  return value;
}
