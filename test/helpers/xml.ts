import { execFileSync } from 'node:child_process';

/**
 * Parses an XML document with a real parser (Python's ElementTree: python3 is already
 * a requirement of the stack, whose Temporal CLI lives in a venv) and returns every
 * element's tag (namespace stripped), attributes and text. Throws on malformed XML.
 */
export interface XmlElement {
  tag: string;
  attrs: Record<string, string>;
  text: string;
}

const SCRIPT = `
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.read())
strip = lambda t: t.split('}', 1)[1] if t.startswith('{') else t
print(json.dumps([{"tag": strip(e.tag), "attrs": e.attrib, "text": e.text or ""} for e in root.iter()]))
`;

export function parseXml(text: string): XmlElement[] {
  const out = execFileSync('python3', ['-c', SCRIPT], { input: text, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return JSON.parse(out) as XmlElement[];
}
