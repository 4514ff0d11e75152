/**
 * URL layout of the OCI distribution API (`/v2/...`, distribution-spec "Endpoints"). The repository name is
 * everything between `/v2/` and the last `/manifests/`, `/blobs/`, `/tags/list` or `/referrers/` segment, so
 * names with slashes (`team/app`) work.
 */

export type RegistryOperation =
  | 'Ping'
  | 'Catalog'
  | 'GetManifest'
  | 'HeadManifest'
  | 'PutManifest'
  | 'DeleteManifest'
  | 'GetBlob'
  | 'HeadBlob'
  | 'DeleteBlob'
  | 'StartUpload'
  | 'PatchUpload'
  | 'CompleteUpload'
  | 'GetUpload'
  | 'CancelUpload'
  | 'ListTags'
  | 'ListReferrers';

export interface RegistryRoute {
  readonly operation: RegistryOperation;
  readonly name: string;
  /** Tag or digest (manifests), digest (blobs, referrers) or upload id (uploads). */
  readonly reference: string;
}

export type RouteMatch =
  | { readonly kind: 'route'; readonly route: RegistryRoute }
  | { readonly kind: 'method-not-allowed' }
  | { readonly kind: 'none' };

const PATTERNS: readonly { re: RegExp; methods: Readonly<Record<string, RegistryOperation>> }[] = [
  {
    re: /^\/v2\/(.+)\/manifests\/([^/]+)$/,
    methods: { GET: 'GetManifest', HEAD: 'HeadManifest', PUT: 'PutManifest', DELETE: 'DeleteManifest' },
  },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/?()$/, methods: { POST: 'StartUpload' } },
  {
    re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/,
    methods: { PATCH: 'PatchUpload', PUT: 'CompleteUpload', GET: 'GetUpload', DELETE: 'CancelUpload' },
  },
  { re: /^\/v2\/(.+)\/blobs\/([^/]+)$/, methods: { GET: 'GetBlob', HEAD: 'HeadBlob', DELETE: 'DeleteBlob' } },
  { re: /^\/v2\/(.+)\/tags\/list()$/, methods: { GET: 'ListTags' } },
  { re: /^\/v2\/(.+)\/referrers\/([^/]+)$/, methods: { GET: 'ListReferrers' } },
];

function decode(text: string): string | undefined {
  try {
    return decodeURIComponent(text);
  } catch {
    return undefined;
  }
}

export function matchRoute(method: string, pathname: string): RouteMatch {
  if (pathname === '/v2' || pathname === '/v2/') {
    return method === 'GET' || method === 'HEAD'
      ? { kind: 'route', route: { operation: 'Ping', name: '', reference: '' } }
      : { kind: 'method-not-allowed' };
  }
  if (pathname === '/v2/_catalog')
    return { kind: 'route', route: { operation: 'Catalog', name: '', reference: '' } };
  for (const { re, methods } of PATTERNS) {
    const m = re.exec(pathname);
    if (!m) continue;
    const operation = methods[method];
    if (!operation) return { kind: 'method-not-allowed' };
    const name = decode(m[1] ?? '');
    const reference = decode(m[2] ?? '');
    if (name === undefined || reference === undefined) return { kind: 'none' };
    return { kind: 'route', route: { operation, name, reference } };
  }
  return { kind: 'none' };
}
