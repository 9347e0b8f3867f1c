import https from 'node:https';

/** A `fetch` that never follows redirects (openid-client's `customFetch`, the scripted browser). */
export type TestFetch = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** Statuses whose Response must have no body. */
const NO_BODY = new Set([101, 204, 205, 304]);

/**
 * `fetch` over node:https that trusts `ca` (PEM) and nothing else; the global fetch of Node 20
 * cannot take a CA. The request is normalised through `new Request` (so a URLSearchParams body
 * gets its content-type, as with fetch); redirects are returned, not followed; `init.signal` aborts.
 */
export function httpsFetch(ca: string): TestFetch {
  return async (url, init) => {
    const request = new Request(url, init);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers = Object.fromEntries(request.headers);
    if (body) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const req = https.request(
        request.url,
        { method: request.method, headers, ca, signal: init?.signal ?? undefined },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('error', reject);
          res.on('end', () => {
            const status = res.statusCode ?? 500;
            const responseHeaders = new Headers();
            for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
              responseHeaders.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
            }
            const content = NO_BODY.has(status) || request.method === 'HEAD' ? null : Buffer.concat(chunks);
            resolve(
              new Response(content, { status, statusText: res.statusMessage, headers: responseHeaders }),
            );
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}
