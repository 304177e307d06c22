/**
 * From a path in the config data to the YAML node it came from, for `line:col` in messages.
 */
import { type Document, isAlias, isMap, isPair, isScalar, isSeq, type LineCounter, type Node } from 'yaml';

export interface NodeLookup {
  /** The node at the path, or the deepest existing ancestor when the path does not exist. */
  node: Node | null;
  /** The key node of the last map entry followed (the key of `node` when `found`). */
  keyNode: Node | null;
  /** Whether the whole path exists in the document. */
  found: boolean;
}

/** Follow `path` through maps and lists of the document (aliases are resolved). */
export function lookup(doc: Document, path: readonly PropertyKey[]): NodeLookup {
  let node = resolve(doc, doc.contents as Node | null);
  let keyNode: Node | null = null;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && keyText(p.key) === String(seg));
      if (!pair) return { node, keyNode, found: false };
      keyNode = (pair.key as Node) ?? null;
      const value = resolve(doc, pair.value as Node | null);
      if (!value) return { node: keyNode, keyNode, found: true };
      node = value;
    } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
      const value = resolve(doc, node.items[seg] as Node | null);
      if (!value) return { node, keyNode, found: false };
      node = value;
    } else {
      // The path goes on below a scalar (`- scale:` with no value): point at its key.
      return { node: keyNode ?? node, keyNode, found: false };
    }
  }
  return { node, keyNode, found: true };
}

function keyText(key: unknown): string {
  return isScalar(key) ? String(key.value) : String(key);
}

function resolve(doc: Document, node: Node | null): Node | null {
  if (isAlias(node)) return (node.resolve(doc) as Node | undefined) ?? node;
  return node;
}

export interface Position {
  line: number;
  col: number;
}

/** 1-based line and column of a source offset. */
export function positionOf(lineCounter: LineCounter, offset: number): Position {
  const p = lineCounter.linePos(offset);
  return { line: p.line, col: p.col };
}

/** Start offset of a node (0 when it has no range). */
export function startOf(node: Node | null): number {
  return node?.range?.[0] ?? 0;
}
