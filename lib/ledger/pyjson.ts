/**
 * JSON exactly as Python's `json` module reads and writes it, so that hashes and
 * lines agree byte for byte with the other MO§ES tools (audit_stub.py).
 *
 * - {@link canonicalJson}: `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`
 * - {@link pythonDumps}: `json.dumps(v)` (the form audit_stub writes on disk)
 * - {@link parsePythonJson}: `json.loads(text)`, keeping Python's int/float distinction
 *
 * @module
 */

/** A JSON value with Python's number model: floats are boxed so `1.0` stays a float. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyValue[]
  | { [key: string]: PyValue };

/** A Python float parsed from JSON; plain JS numbers stand for Python ints. */
export class PyFloat {
  /** Wraps a float value. */
  constructor(readonly value: number) {}
}

/** Thrown when text is not JSON that Python's `json.loads` accepts. */
export class PyJsonSyntaxError extends SyntaxError {
  /** Creates the error; `position` is the 0-based character offset. */
  constructor(message: string, readonly position: number) {
    super(`${message} at position ${position}`);
    this.name = "PyJsonSyntaxError";
  }
}

/** Formats a float the way Python's `repr(float)` and `json.dumps` do. */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (x === Infinity) return "Infinity";
  if (x === -Infinity) return "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument yields the shortest round-trip digits, as Python's repr does.
  const [mantissa, expText] = Math.abs(x).toExponential().split("e") as [string, string];
  const digits = mantissa.replace(".", "");
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const rest = digits.length > 1 ? "." + digits.slice(1) : "";
    const expSign = exp < 0 ? "-" : "+";
    return `${sign}${digits[0]}${rest}e${expSign}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (exp < 0) return `${sign}0.${"0".repeat(-exp - 1)}${digits}`;
  const intPart = digits.slice(0, exp + 1).padEnd(exp + 1, "0");
  const fracPart = digits.slice(exp + 1) || "0";
  return `${sign}${intPart}.${fracPart}`;
}

function pythonIntRepr(x: number): string {
  if (Number.isSafeInteger(x)) return String(x === 0 ? 0 : x);
  return BigInt(x).toString();
}

function numberRepr(x: number): string {
  return Number.isInteger(x) ? pythonIntRepr(x) : pythonFloatRepr(x);
}

/** Compares strings by Unicode code point, as Python sorts `str` keys. */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Code units order code points correctly except when exactly one side is a surrogate.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys && (x >= 0xe000 || y >= 0xe000)) return xs ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

function sortedKeys(obj: Record<string, unknown>): string[] {
  const keys = Object.keys(obj);
  for (const k of keys) {
    // Fast path: a plain sort is correct unless a key holds a code unit >= U+D800.
    if (/[\ud800-\uffff]/.test(k)) return keys.sort(compareCodePoints);
  }
  return keys.sort();
}

/**
 * Serialises canonically for hashing: Python's
 * `json.dumps(v, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`.
 */
export function canonicalJson(value: unknown): string {
  return canonical(value, undefined);
}

/** Canonical form of `obj` as if its top-level key `omit` were absent (the hashed body of an entry). */
export function canonicalJsonWithout(obj: Record<string, unknown>, omit: string): string {
  try {
    return JSON.stringify(sortedCopy(obj, omit));
  } catch (err) {
    if (err !== NEEDS_EXACT) throw err;
  }
  return canonical(obj, omit);
}

function canonical(value: unknown, omit: string | undefined): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
      return numberRepr(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (value instanceof PyFloat) return pythonFloatRepr(value.value);
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ",";
          out += canonical(value[i], undefined);
        }
        return out + "]";
      }
      const obj = value as Record<string, unknown>;
      let out = "{";
      let first = true;
      for (const key of sortedKeys(obj)) {
        const v = obj[key];
        if (v === undefined || key === omit) continue;
        if (!first) out += ",";
        first = false;
        out += JSON.stringify(key) + ":" + canonical(v, undefined);
      }
      return out + "}";
    }
    default:
      throw new TypeError(`Cannot serialise a ${typeof value} as JSON`);
  }
}

const NON_ASCII = /[^\x20-\x7e]/g;

function asciiEscape(ch: string): string {
  return "\\u" + ch.charCodeAt(0).toString(16).padStart(4, "0");
}

const HAS_NON_ASCII = /[^\x20-\x7e]/;

function pythonString(s: string): string {
  const json = JSON.stringify(s);
  // Most strings are plain ASCII: test once rather than run a replacing scan on each.
  return HAS_NON_ASCII.test(json) ? json.replace(NON_ASCII, asciiEscape) : json;
}

/**
 * Serialises as Python's default `json.dumps(v)`: keys in insertion order,
 * `", "` and `": "` separators, non-ASCII escaped as lower-case `\uXXXX`.
 */
export function pythonDumps(value: unknown): string {
  switch (typeof value) {
    case "string":
      return pythonString(value);
    case "number":
      return numberRepr(value);
    case "bigint":
      return value.toString();
    case "boolean":
      return value ? "true" : "false";
    case "object": {
      if (value === null) return "null";
      if (value instanceof PyFloat) return pythonFloatRepr(value.value);
      if (Array.isArray(value)) {
        let out = "[";
        for (let i = 0; i < value.length; i++) out += (i > 0 ? ", " : "") + pythonDumps(value[i]);
        return out + "]";
      }
      const obj = value as Record<string, unknown>;
      let out = "{";
      let first = true;
      for (const k in obj) {
        const v = obj[k];
        if (v === undefined || !Object.hasOwn(obj, k)) continue;
        out += (first ? "" : ", ") + pythonString(k) + ": " + pythonDumps(v);
        first = false;
      }
      return out + "}";
    }
    default:
      throw new TypeError(`Cannot serialise a ${typeof value} as JSON`);
  }
}

/**
 * Parses JSON as Python's `json.loads` does: ints and floats stay distinct, big
 * integers stay exact, and `NaN`/`Infinity` are accepted.
 */
export function parsePythonJson(text: string): PyValue {
  return new ExactParser(text).parseDocument();
}

/** Thrown inside {@link fastCanonicalWithout} when the slow, exact path is needed. */
const NEEDS_EXACT = Symbol("needs exact");

/**
 * The canonical form (without top-level key `omit`) of `text`, a JSON line, using the
 * engine's own parser and serialiser, which are much faster than the exact ones.
 * Returns undefined where they could disagree with Python (numbers, integer-like
 * keys, keys beyond U+D7FF, `__proto__`); the caller then takes the exact path.
 */
export function fastCanonicalWithout(
  text: string,
  omit: string,
): { value: unknown; canonical: string } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  try {
    return { value, canonical: JSON.stringify(sortedCopy(value, omit)) };
  } catch (err) {
    if (err === NEEDS_EXACT) return undefined;
    throw err;
  }
}

// Ledger lines repeat a few key sets; remembering their sorted order (and whether the
// native serialiser can keep it) saves most of the work per line.
const keyOrders: { keys: string[]; sorted: string[] | undefined }[] = [];

function sortedKeysCached(v: object): string[] {
  const keys = Object.keys(v);
  let sorted: string[] | undefined;
  let found = false;
  search: for (const c of keyOrders) {
    if (c.keys.length !== keys.length) continue;
    for (let i = 0; i < keys.length; i++) if (c.keys[i] !== keys[i]) continue search;
    sorted = c.sorted;
    found = true;
    break;
  }
  if (!found) {
    sorted = nativeOrderable(keys) ? [...keys].sort() : undefined;
    if (keyOrders.length >= 16) keyOrders.shift();
    keyOrders.push({ keys, sorted });
  }
  if (sorted === undefined) throw NEEDS_EXACT;
  return sorted;
}

// JS sorts by UTF-16 unit and Python by code point: they differ only past U+D7FF. And
// JSON.stringify lists integer-like keys first whatever the insertion order.
function nativeOrderable(keys: string[]): boolean {
  for (const k of keys) {
    if (k === "__proto__" || /^(?:0|[1-9]\d*)$/.test(k) || /[\ud800-\uffff]/.test(k)) return false;
  }
  return true;
}

// A copy with keys inserted in sorted order, so one native JSON.stringify gives the canonical form.
function sortedCopy(v: unknown, omit: string | undefined): unknown {
  if (typeof v !== "object" || v === null) {
    // Numbers: "1.0" and "1" parse alike, and JS and Python print some floats differently.
    if (typeof v === "number" || typeof v === "bigint" || v === undefined) throw NEEDS_EXACT;
    return v;
  }
  if (v instanceof PyFloat) throw NEEDS_EXACT;
  if (Array.isArray(v)) return v.map((x) => sortedCopy(x, undefined));
  const out: Record<string, unknown> = {};
  for (const k of sortedKeysCached(v)) {
    if (k === omit) continue;
    out[k] = sortedCopy((v as Record<string, unknown>)[k], undefined);
  }
  return out;
}

const MAX_DEPTH = 1000;

class ExactParser {
  #i = 0;
  constructor(readonly text: string) {}

  parseDocument(): PyValue {
    this.#ws();
    const v = this.#value(0);
    this.#ws();
    if (this.#i !== this.text.length) throw this.#error("Extra data");
    return v;
  }

  #error(msg: string): PyJsonSyntaxError {
    return new PyJsonSyntaxError(msg, this.#i);
  }

  #ws(): void {
    const t = this.text;
    while (this.#i < t.length) {
      const c = t.charCodeAt(this.#i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.#i++;
      else break;
    }
  }

  #value(depth: number): PyValue {
    if (depth > MAX_DEPTH) throw this.#error("Nesting too deep");
    const t = this.text;
    const c = t[this.#i];
    switch (c) {
      case "{":
        return this.#object(depth);
      case "[":
        return this.#array(depth);
      case '"':
        return this.#string();
      case "n":
        return this.#literal("null", null);
      case "t":
        return this.#literal("true", true);
      case "f":
        return this.#literal("false", false);
      case "N":
        return this.#literal("NaN", new PyFloat(NaN));
      case "I":
        return this.#literal("Infinity", new PyFloat(Infinity));
      default:
        if (c === "-" && t.startsWith("-Infinity", this.#i)) {
          return this.#literal("-Infinity", new PyFloat(-Infinity));
        }
        if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return this.#number();
        throw this.#error("Expecting value");
    }
  }

  #literal<T extends PyValue>(word: string, v: T): T {
    if (!this.text.startsWith(word, this.#i)) throw this.#error("Expecting value");
    this.#i += word.length;
    return v;
  }

  #number(): PyValue {
    const re = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?/y;
    re.lastIndex = this.#i;
    const m = re.exec(this.text);
    if (!m) throw this.#error("Expecting value");
    this.#i = re.lastIndex;
    if (m[1] !== undefined || m[2] !== undefined) return new PyFloat(Number(m[0]));
    const n = Number(m[0]);
    return Number.isSafeInteger(n) ? n : BigInt(m[0]);
  }

  #string(): string {
    const t = this.text;
    const start = ++this.#i;
    let out = "";
    let chunkStart = start;
    while (true) {
      if (this.#i >= t.length) throw new PyJsonSyntaxError("Unterminated string", start - 1);
      const c = t.charCodeAt(this.#i);
      if (c === 0x22) {
        out += t.slice(chunkStart, this.#i);
        this.#i++;
        return out;
      }
      if (c < 0x20) throw this.#error("Invalid control character");
      if (c !== 0x5c) {
        this.#i++;
        continue;
      }
      out += t.slice(chunkStart, this.#i);
      const e = t[this.#i + 1];
      this.#i += 2;
      switch (e) {
        case '"':
          out += '"';
          break;
        case "\\":
          out += "\\";
          break;
        case "/":
          out += "/";
          break;
        case "b":
          out += "\b";
          break;
        case "f":
          out += "\f";
          break;
        case "n":
          out += "\n";
          break;
        case "r":
          out += "\r";
          break;
        case "t":
          out += "\t";
          break;
        case "u": {
          const hex = t.slice(this.#i, this.#i + 4);
          if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw this.#error("Invalid \\uXXXX escape");
          out += String.fromCharCode(parseInt(hex, 16));
          this.#i += 4;
          break;
        }
        default:
          this.#i -= 2;
          throw this.#error("Invalid \\escape");
      }
      chunkStart = this.#i;
    }
  }

  #array(depth: number): PyValue[] {
    this.#i++;
    const out: PyValue[] = [];
    this.#ws();
    if (this.text[this.#i] === "]") {
      this.#i++;
      return out;
    }
    while (true) {
      this.#ws();
      out.push(this.#value(depth + 1));
      this.#ws();
      const c = this.text[this.#i++];
      if (c === "]") return out;
      if (c !== ",") {
        this.#i--;
        throw this.#error("Expecting ',' delimiter");
      }
    }
  }

  #object(depth: number): { [key: string]: PyValue } {
    this.#i++;
    const out: { [key: string]: PyValue } = {};
    this.#ws();
    if (this.text[this.#i] === "}") {
      this.#i++;
      return out;
    }
    while (true) {
      this.#ws();
      if (this.text[this.#i] !== '"') {
        throw this.#error("Expecting property name enclosed in double quotes");
      }
      const key = this.#string();
      this.#ws();
      if (this.text[this.#i] !== ":") throw this.#error("Expecting ':' delimiter");
      this.#i++;
      this.#ws();
      const v = this.#value(depth + 1);
      // defineProperty keeps "__proto__" an ordinary key, as it is in Python.
      Object.defineProperty(out, key, {
        value: v,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.#ws();
      const c = this.text[this.#i++];
      if (c === "}") return out;
      if (c !== ",") {
        this.#i--;
        throw this.#error("Expecting ',' delimiter");
      }
    }
  }
}
