/**
 * Test helpers: a strict little XML parser (enough to prove the figures are well-formed and to
 * inspect them) and shared assertions. Private to this folder's tests; no dependencies.
 *
 * @module
 */

import assert from "node:assert/strict";

/** A parsed XML element. */
export interface XmlElement {
  /** Tag name. */
  name: string;
  /** Attributes with entities decoded. */
  attrs: Record<string, string>;
  /** Child elements in order. */
  children: XmlElement[];
  /** Concatenated direct text content with entities decoded. */
  text: string;
}

const NAME = /[A-Za-z_:][A-Za-z0-9_.:-]*/y;
const ENTITY = /&(amp|lt|gt|quot|apos|#[0-9]+|#x[0-9a-fA-F]+);/y;
const NAMED: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
// XML 1.0 Char production, minus what a JS string can't hold anyway.
// deno-lint-ignore no-control-regex
const BAD_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Parses `source` as an XML document with one root element, throwing on anything not well-formed:
 * unbalanced or crossed tags, unquoted or duplicate attributes, `<` in values, bare `&`, unknown
 * entities, forbidden characters, or stray text outside the root. Doctypes and CDATA are rejected
 * because the figures never need them.
 */
export function parseXml(source: string): XmlElement {
  if (BAD_CHAR.test(source)) throw new SyntaxError("character not allowed in XML");
  let pos = 0;
  const fail = (why: string): never => {
    throw new SyntaxError(`${why} at offset ${pos}: ${JSON.stringify(source.slice(pos, pos + 40))}`);
  };
  const readName = (): string => {
    NAME.lastIndex = pos;
    const m = NAME.exec(source);
    if (m === null) return fail("expected a name");
    pos += m[0].length;
    return m[0];
  };
  const skipSpace = () => {
    while (pos < source.length && " \t\r\n".includes(source[pos])) pos++;
  };
  const decode = (raw: string, start: number): string => {
    let out = "";
    for (let i = 0; i < raw.length; i++) {
      if (raw[i] !== "&") {
        out += raw[i];
        continue;
      }
      ENTITY.lastIndex = i;
      const m = ENTITY.exec(raw);
      if (m === null) {
        pos = start + i;
        return fail("bare & or unknown entity");
      }
      const ref = m[1];
      out += ref.startsWith("#x")
        ? String.fromCodePoint(parseInt(ref.slice(2), 16))
        : ref.startsWith("#")
        ? String.fromCodePoint(parseInt(ref.slice(1), 10))
        : NAMED[ref];
      i += m[0].length - 1;
    }
    return out;
  };

  if (source.startsWith("<?xml")) {
    const end = source.indexOf("?>");
    if (end < 0) fail("unterminated XML declaration");
    pos = end + 2;
  }
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  while (pos < source.length) {
    if (source[pos] !== "<") {
      const end = source.indexOf("<", pos);
      const raw = source.slice(pos, end < 0 ? source.length : end);
      if (raw.includes("]]>")) fail("]]> in text");
      const text = decode(raw, pos);
      if (stack.length === 0) {
        if (text.trim() !== "") fail("text outside the root element");
      } else {
        stack[stack.length - 1].text += text;
      }
      pos += raw.length;
      continue;
    }
    if (source.startsWith("<!--", pos)) {
      const end = source.indexOf("-->", pos + 4);
      if (end < 0) fail("unterminated comment");
      if (source.slice(pos + 4, end).includes("--")) fail("-- inside a comment");
      pos = end + 3;
      continue;
    }
    if (source.startsWith("<!", pos) || source.startsWith("<?", pos)) fail("unsupported markup");
    if (source.startsWith("</", pos)) {
      pos += 2;
      const name = readName();
      skipSpace();
      if (source[pos] !== ">") fail("expected > after end tag name");
      pos++;
      const open = stack.pop();
      if (open === undefined || open.name !== name) fail(`end tag </${name}> does not match <${open?.name}>`);
      continue;
    }
    pos++;
    const element: XmlElement = { name: readName(), attrs: {}, children: [], text: "" };
    for (;;) {
      const before = pos;
      skipSpace();
      if (source.startsWith("/>", pos) || source[pos] === ">") break;
      if (pos === before) fail("expected whitespace before an attribute");
      const key = readName();
      skipSpace();
      if (source[pos] !== "=") fail("expected = after attribute name");
      pos++;
      skipSpace();
      const quote = source[pos];
      if (quote !== '"' && quote !== "'") fail("attribute value must be quoted");
      const end = source.indexOf(quote, pos + 1);
      if (end < 0) fail("unterminated attribute value");
      const raw = source.slice(pos + 1, end);
      if (raw.includes("<")) fail("< in attribute value");
      if (Object.hasOwn(element.attrs, key)) fail(`duplicate attribute ${key}`);
      element.attrs[key] = decode(raw, pos + 1);
      pos = end + 1;
    }
    if (stack.length > 0) stack[stack.length - 1].children.push(element);
    else if (root === undefined) root = element;
    else fail("second root element");
    if (source.startsWith("/>", pos)) {
      pos += 2;
    } else {
      pos++;
      stack.push(element);
    }
  }
  if (stack.length > 0) fail(`unclosed <${stack[stack.length - 1].name}>`);
  if (root === undefined) return fail("no root element");
  return root;
}

/** All descendants of `root` (and `root` itself) with tag `name`, in document order. */
export function findAll(root: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement) => {
    if (e.name === name) out.push(e);
    e.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** The non-blank direct text of every element in the subtree, in document order. */
export function allText(root: XmlElement): string[] {
  const out: string[] = [];
  const walk = (e: XmlElement) => {
    if (e.text.trim() !== "") out.push(e.text);
    e.children.forEach(walk);
  };
  walk(root);
  return out;
}

/** The first descendant whose attribute `key` equals `value`; fails the test if there is none. */
export function findByAttr(root: XmlElement, key: string, value: string): XmlElement {
  let found: XmlElement | undefined;
  const walk = (e: XmlElement) => {
    if (found === undefined && e.attrs[key] === value) found = e;
    e.children.forEach(walk);
  };
  walk(root);
  assert.ok(found, `no element with ${key}="${value}"`);
  return found;
}

/** The points of a polyline or polygon as numbers. */
export function points(e: XmlElement): [number, number][] {
  const raw = e.attrs.points?.trim() ?? "";
  if (raw === "") return [];
  return raw.split(/\s+/).map((pair) => {
    const [x, y] = pair.split(",").map(Number);
    return [x, y];
  });
}

/** A numeric attribute; fails the test if missing or not a finite number. */
export function attrNum(e: XmlElement, key: string): number {
  const v = Number(e.attrs[key]);
  assert.ok(e.attrs[key] !== undefined && Number.isFinite(v), `<${e.name}> ${key}=${e.attrs[key]}`);
  return v;
}

/**
 * Checks what every figure must satisfy: well-formed XML with an `<svg>` root in the SVG namespace,
 * a size and viewBox, a `<title>` first, no script, no NaN or Infinity anywhere. Returns the parsed root.
 */
export function assertValidSvg(svg: string): XmlElement {
  const root = parseXml(svg);
  assert.equal(root.name, "svg");
  assert.equal(root.attrs.xmlns, "http://www.w3.org/2000/svg");
  assert.match(root.attrs.viewBox, /^0 0 \d+(\.\d+)? \d+(\.\d+)?$/);
  assert.ok(Number(root.attrs.width) > 0 && Number(root.attrs.height) > 0);
  assert.equal(root.children[0]?.name, "title");
  assert.equal(findAll(root, "script").length, 0);
  assert.equal(findAll(root, "foreignObject").length, 0);
  assert.ok(!svg.includes("NaN"), "output contains NaN");
  assert.ok(!svg.includes("Infinity"), "output contains Infinity");
  assert.ok(!svg.includes("undefined"), "output contains undefined");
  assert.ok(!/\bon[a-z]+=/i.test(svg), "output contains an event handler attribute");
  return root;
}

/** A deterministic pseudo-random generator (mulberry32) so tests never depend on Math.random. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A title that breaks naive SVG writers. */
export const NASTY_TITLE = `<script>alert("x")</script> & "quotes" 'apos' <b>`;
