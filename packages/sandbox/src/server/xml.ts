/**
 * XML for the Query protocol (IAM, STS) and S3 REST. The SDK's parsers want: `<member>` elements for list
 * items, ISO-8601 timestamps, `true`/`false`, and text escaped. Values are serialised in insertion order.
 */

export type XmlValue = string | number | boolean | Date | XmlObject | XmlValue[] | undefined | null;
export interface XmlObject {
  [key: string]: XmlValue;
}

export function escapeXml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c] ?? c,
  );
}

/**
 * Serialises `value` as the content of an element. Arrays become `<member>` children (the Query protocol's
 * list encoding); pass `{ flat: 'Tag' }` style data by building arrays of objects under the desired key yourself.
 */
export function toXml(value: XmlValue, listItem = 'member'): string {
  if (value === undefined || value === null) return '';
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value))
    return value.map((v) => `<${listItem}>${toXml(v, listItem)}</${listItem}>`).join('');
  if (typeof value === 'object') {
    let out = '';
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined || v === null) continue;
      out += `<${k}>${toXml(v, listItem)}</${k}>`;
    }
    return out;
  }
  return escapeXml(String(value));
}

/** Minimal XML reader for request bodies we accept (S3 multi-object requests are not emulated). */
export function xmlDocument(
  root: string,
  namespace: string | undefined,
  content: XmlValue,
  listItem = 'member',
): string {
  const ns = namespace ? ` xmlns="${namespace}"` : '';
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}${ns}>${toXml(content, listItem)}</${root}>`;
}
