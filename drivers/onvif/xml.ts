// A small, hardened, namespace-aware XML parser for SOAP answers from cameras.
//
// Why not xml2js (what the `onvif` package uses) or a DOM library: a camera is an
// untrusted network peer. This parser refuses any DTD outright (`<!DOCTYPE`, `<!ENTITY`),
// so neither external entities (XXE, OWASP "XML External Entity Prevention") nor
// internal entity-expansion bombs ("billion laughs") can exist; it knows only the five
// predefined entities and numeric character references (XML 1.0 §4.6, §4.1), and it caps
// input size, element depth, node count and attributes per element before doing work.
// The result is a plain tree; the caller walks it by local name and namespace URI.

export interface XmlElement {
  /** Local name (without prefix). */
  name: string;
  prefix: string;
  /** Namespace URI ('' when none). */
  ns: string;
  /** Attributes by qualified name as written (e.g. `Name`, `wsu:Id`). */
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Concatenated character data directly inside this element (not trimmed). */
  text: string;
  /** In-scope prefix → URI map ('' = default namespace); for QName values such as topics. */
  scope: ReadonlyMap<string, string>;
}

export interface XmlLimits {
  maxBytes: number;
  maxDepth: number;
  maxNodes: number;
  maxAttrs: number;
}

export const DEFAULT_XML_LIMITS: XmlLimits = { maxBytes: 1024 * 1024, maxDepth: 64, maxNodes: 50_000, maxAttrs: 64 };

/** Input refused on purpose (DTD, entity, limits). Never retried as if it were a glitch. */
export class XmlSecurityError extends Error {
  override readonly name = 'XmlSecurityError';
}
export class XmlSyntaxError extends Error {
  override readonly name = 'XmlSyntaxError';
}

const PREDEFINED: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };
const NAME_RE = /[^\s<>/=!?"'&;]+/y;
const WS_RE = /\s*/y;
const XML_NS = 'http://www.w3.org/XML/1998/namespace';

function decodeEntities(s: string, at: number): string {
  if (!s.includes('&')) return s;
  return s.replace(/&([^;&\s]{0,32});?/g, (m, ref: string) => {
    if (!m.endsWith(';')) throw new XmlSyntaxError(`unterminated entity reference near offset ${at}`);
    if (ref[0] === '#') {
      const cp = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      if (!Number.isInteger(cp) || cp <= 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
        throw new XmlSyntaxError(`bad character reference &${ref}; near offset ${at}`);
      }
      return String.fromCodePoint(cp);
    }
    const v = PREDEFINED[ref];
    if (v === undefined) throw new XmlSecurityError(`undeclared entity &${ref}; refused (no DTD entities are accepted)`);
    return v;
  });
}

interface Raw {
  qname: string;
  attrs: Record<string, string>;
  el: XmlElement;
}

/** Parse a complete document; returns the root element. Throws XmlSecurityError / XmlSyntaxError. */
export function parseXml(input: string | Buffer, limits: Partial<XmlLimits> = {}): XmlElement {
  const lim = { ...DEFAULT_XML_LIMITS, ...limits };
  const bytes = typeof input === 'string' ? Buffer.byteLength(input) : input.length;
  if (bytes > lim.maxBytes) throw new XmlSecurityError(`document of ${bytes} bytes exceeds the ${lim.maxBytes}-byte cap`);
  let s = typeof input === 'string' ? input : input.toString('utf8');
  if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);

  const stack: Raw[] = [];
  let root: XmlElement | null = null;
  let nodes = 0;
  let i = 0;
  const n = s.length;

  const fail = (msg: string): never => {
    throw new XmlSyntaxError(`${msg} at offset ${i}`);
  };

  while (i < n) {
    const lt = s.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i) {
      const raw = s.slice(i, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.el.text += decodeEntities(raw, i);
      else if (raw.trim() !== '') fail('text outside the root element');
      i = textEnd;
      if (lt === -1) break;
    }
    if (s.startsWith('<!--', i)) {
      const e = s.indexOf('-->', i + 4);
      if (e === -1) fail('unterminated comment');
      i = e + 3;
    } else if (s.startsWith('<![CDATA[', i)) {
      const e = s.indexOf(']]>', i + 9);
      if (e === -1) fail('unterminated CDATA section');
      const top = stack[stack.length - 1];
      if (!top) fail('CDATA outside the root element');
      top.el.text += s.slice(i + 9, e);
      i = e + 3;
    } else if (s.startsWith('<!', i)) {
      // DOCTYPE, ENTITY, ELEMENT, ATTLIST …: any DTD is refused (XXE, entity bombs).
      throw new XmlSecurityError(`DTD declarations are not accepted (found "${s.slice(i, i + 10)}" at offset ${i})`);
    } else if (s.startsWith('<?', i)) {
      const e = s.indexOf('?>', i + 2);
      if (e === -1) fail('unterminated processing instruction');
      i = e + 2;
    } else if (s.startsWith('</', i)) {
      NAME_RE.lastIndex = i + 2;
      const m = NAME_RE.exec(s);
      if (!m) fail('bad end tag');
      const top = stack.pop();
      if (!top || top.qname !== m![0]) fail(`end tag </${m![0]}> does not match <${top?.qname ?? ''}>`);
      i = NAME_RE.lastIndex;
      WS_RE.lastIndex = i;
      WS_RE.exec(s);
      i = WS_RE.lastIndex;
      if (s[i] !== '>') fail('expected > after end tag name');
      i += 1;
    } else {
      NAME_RE.lastIndex = i + 1;
      const m = NAME_RE.exec(s);
      if (!m) fail('bad start tag');
      const qname = m![0];
      i = NAME_RE.lastIndex;
      const attrs: Record<string, string> = {};
      let count = 0;
      let selfClosing = false;
      for (;;) {
        WS_RE.lastIndex = i;
        WS_RE.exec(s);
        i = WS_RE.lastIndex;
        if (i >= n) fail('unterminated start tag');
        if (s[i] === '>') {
          i += 1;
          break;
        }
        if (s[i] === '/' && s[i + 1] === '>') {
          i += 2;
          selfClosing = true;
          break;
        }
        NAME_RE.lastIndex = i;
        const a = NAME_RE.exec(s);
        if (!a) fail('bad attribute name');
        i = NAME_RE.lastIndex;
        WS_RE.lastIndex = i;
        WS_RE.exec(s);
        i = WS_RE.lastIndex;
        if (s[i] !== '=') fail(`attribute ${a![0]} without value`);
        WS_RE.lastIndex = i + 1;
        WS_RE.exec(s);
        i = WS_RE.lastIndex;
        const q = s[i];
        if (q !== '"' && q !== "'") fail('attribute value must be quoted');
        const e = s.indexOf(q, i + 1);
        if (e === -1) fail('unterminated attribute value');
        const v = s.slice(i + 1, e);
        if (v.includes('<')) fail('"<" in attribute value');
        if (++count > lim.maxAttrs) throw new XmlSecurityError(`more than ${lim.maxAttrs} attributes on <${qname}>`);
        if (Object.prototype.hasOwnProperty.call(attrs, a![0])) fail(`duplicate attribute ${a![0]}`);
        attrs[a![0]] = decodeEntities(v, i);
        i = e + 1;
      }
      if (++nodes > lim.maxNodes) throw new XmlSecurityError(`more than ${lim.maxNodes} elements`);
      if (stack.length + 1 > lim.maxDepth) throw new XmlSecurityError(`elements nested deeper than ${lim.maxDepth}`);
      const parent = stack[stack.length - 1];
      if (!parent && root) fail('second root element');
      const el = makeElement(qname, attrs, parent?.el.scope);
      if (parent) parent.el.children.push(el);
      else root = el;
      if (!selfClosing) stack.push({ qname, attrs, el });
    }
  }
  if (stack.length > 0) throw new XmlSyntaxError(`unclosed element <${stack[stack.length - 1].qname}> at end of input`);
  if (!root) throw new XmlSyntaxError('no root element');
  return root;
}

function makeElement(qname: string, attrs: Record<string, string>, parentScope: ReadonlyMap<string, string> | undefined): XmlElement {
  let scope: ReadonlyMap<string, string> = parentScope ?? new Map([['xml', XML_NS]]);
  let copied: Map<string, string> | null = null;
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'xmlns' || k.startsWith('xmlns:')) {
      copied ??= new Map(scope);
      copied.set(k === 'xmlns' ? '' : k.slice(6), v);
    }
  }
  if (copied) scope = copied;
  const c = qname.indexOf(':');
  const prefix = c === -1 ? '' : qname.slice(0, c);
  const name = c === -1 ? qname : qname.slice(c + 1);
  return { name, prefix, ns: scope.get(prefix) ?? '', attrs, children: [], text: '', scope };
}

// --- navigation helpers: by local name (vendors vary prefixes, never local names) ---

export function child(el: XmlElement | undefined, name: string): XmlElement | undefined {
  return el?.children.find((c) => c.name === name);
}

export function childrenNamed(el: XmlElement | undefined, name: string): XmlElement[] {
  return el ? el.children.filter((c) => c.name === name) : [];
}

/** Follow a path of local names from `el`. */
export function path(el: XmlElement | undefined, ...names: string[]): XmlElement | undefined {
  let cur = el;
  for (const nm of names) cur = child(cur, nm);
  return cur;
}

/** First descendant (depth-first, including el) with this local name. */
export function findFirst(el: XmlElement | undefined, name: string): XmlElement | undefined {
  if (!el) return undefined;
  if (el.name === name) return el;
  for (const c of el.children) {
    const f = findFirst(c, name);
    if (f) return f;
  }
  return undefined;
}

export function textOf(el: XmlElement | undefined): string {
  return el ? el.text.trim() : '';
}

/** Attribute by local name, ignoring its prefix. */
export function attr(el: XmlElement | undefined, name: string): string | undefined {
  if (!el) return undefined;
  if (name in el.attrs) return el.attrs[name];
  for (const [k, v] of Object.entries(el.attrs)) if (k.endsWith(`:${name}`)) return v;
  return undefined;
}

/** Escape text for inclusion in XML we build. */
export function xmlEscape(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&${{ '<': 'lt', '>': 'gt', '&': 'amp', '"': 'quot', "'": 'apos' }[c]};`);
}
